"""fastinit: parallel, reproducible weight initialization into NumPy buffers."""

from ._engine import get_num_threads, set_num_threads, set_simd_path, simd_path, simd_supported
from .samplers import normal, random, truncated_normal, uniform
from .seeding import seed_for

__version__ = "0.1.0"

__all__ = [
    "random", "uniform", "normal", "truncated_normal",
    "seed_for",
    "get_num_threads", "set_num_threads", "simd_path", "simd_supported", "set_simd_path",
]
