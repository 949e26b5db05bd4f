"""fastinit: parallel, reproducible weight initialization into NumPy buffers."""

try:
    from . import _core
except ImportError as _exc:
    import os as _os
    _here = _os.path.dirname(_os.path.abspath(__file__))
    # The source tree holds _core.pyx but no compiled module: Python found the package in
    # the current directory instead of the installed one.
    if _os.path.exists(_os.path.join(_here, "_core.pyx")) and not any(
            f.startswith("_core.") and f.endswith((".so", ".pyd")) for f in _os.listdir(_here)):
        raise ImportError(
            f"fastinit was imported from its source tree ({_here}), which has no compiled "
            f"extension (fastinit._core). Install it with `pip install .` (or `pip install "
            f"fastinit-weights`) and run Python from another directory, so that the installed "
            f"package is found instead of this folder.") from _exc
    raise

from ._engine import (get_num_threads, set_num_threads, set_simd_path, show_config, simd_path,
                      simd_supported)
from .samplers import normal, random, truncated_normal, uniform
from .seeding import seed_for
from ._many import FillSpec, fill_many
from .fans import compute_fans
from .gains import calculate_gain
from .initializers import (constant, delta_orthogonal, dirac, eye, glorot_normal, glorot_uniform,
                           he_normal, he_uniform, kaiming_normal, kaiming_uniform, lecun_normal,
                           lecun_uniform, ones, orthogonal, selu_normal, sparse,
                           variance_scaling, xavier_normal, xavier_uniform, zeros)

__version__ = "0.1.0"

__all__ = [
    "random", "uniform", "normal", "truncated_normal",
    "seed_for", "fill_many", "FillSpec",
    "calculate_gain", "compute_fans", "variance_scaling",
    "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal",
    "lecun_uniform", "lecun_normal", "selu_normal",
    "orthogonal", "delta_orthogonal", "eye", "dirac", "sparse", "constant", "zeros", "ones",
    "get_num_threads", "set_num_threads", "simd_path", "simd_supported", "set_simd_path",
    "show_config",
]
