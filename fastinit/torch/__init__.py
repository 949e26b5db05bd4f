r"""PyTorch backend: ``torch.nn.init`` on fastinit's engine, ``patch()``, ``init_module``.

Every public function of ``torch.nn.init`` (torch 2.13) is here with the same name, signature,
defaults, return value, warnings and errors, plus keyword-only ``rng=`` and ``threads=``:

* CPU tensors of float32, float64, float16 and bfloat16 are filled in place through their
  memory (a NumPy view of the tensor's storage, any strides), with no copy and no autograd
  record (the functions behave as if run under ``torch.no_grad()``; the tensor's version
  counter is bumped as an in-place op would).
* Tensors on another device (CUDA, XPU, ...) are filled on the host in blocks of at most
  ``HOST_BLOCK_BYTES`` and copied in; the values equal a CPU fill.
* Meta tensors have no memory: a ``ValueError`` says so (inside `patch()` they are passed to
  torch, which treats them as a no-op, so ``with torch.device('meta')`` construction works).
* ``torch.distributed.tensor.DTensor`` (Shard / _StridedShard / Replicate placements, even
  or uneven): only the local shard is written, and it equals the same slice of a
  single-process fill (fastinit's ``global_shape``/``index`` addressing).
* Other dtypes (integers, complex, float8) and other tensor subclasses are handed to torch's
  own function unchanged.

Random streams. ``rng=`` takes anything fastinit's samplers take (SPEC 7: an int or
``SeedSequence`` seeds like ``numpy.random.default_rng``; a PCG64 ``Generator`` is consumed
exactly as a NumPy fill of the whole tensor would consume it, also for DTensor shards).
Without ``rng=``, one 63-bit seed is drawn with torch's RNG -- from ``generator=`` when it is
given, else from torch's default CPU generator -- so ``torch.manual_seed`` makes runs
reproducible. The values differ from torch's own (a different generator), the distribution
is the same.

Submodules:

* ``functions`` -- the ``torch.nn.init`` functions and their deprecated aliases.
* ``patching`` -- `patch` and the routing it installs and removes.
* ``module_init`` -- `init_module` and the per-layer schemes.
* ``construction`` -- `build`: deferred fills written in one batched engine call.
* ``distributed`` -- DTensor shards (`shard_block`).
* ``writing`` -- how a tensor is resolved and written (NumPy view, host pieces, versions).
* ``streams`` -- which random stream and how many threads a call uses.
* ``validation`` -- checks raising torch's own errors; fans of a shape.
* ``state`` -- torch's original functions, the active patch configurations, the deferral of
  this thread: the module-level state, read there by the others.
"""

from .construction import build
from .distributed import shard_block
from .functions import (calculate_gain, constant, constant_, dirac, dirac_, eye, eye_,
                        kaiming_normal, kaiming_normal_, kaiming_uniform, kaiming_uniform_,
                        normal, normal_, ones_, orthogonal, orthogonal_, sparse, sparse_,
                        trunc_normal_, uniform, uniform_, xavier_normal, xavier_normal_,
                        xavier_uniform, xavier_uniform_, zeros_)
from .module_init import init_module
from .patching import patch
from . import state as _state

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "orthogonal_", "sparse_",
    "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
    "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
    "patch", "init_module", "build", "shard_block", "HOST_BLOCK_BYTES",
]

#: The public names of torch.nn.init that fastinit.torch mirrors (torch 2.13's __all__).
TORCH_NAMES = _state.TORCH_NAMES

#: Tensors on a non-CPU device are filled on the host in blocks of at most this many bytes
#: (read at each call: setting it here takes effect).
HOST_BLOCK_BYTES = 1 << 26
