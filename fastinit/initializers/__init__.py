r"""Weight initializers: variance scaling, Xavier/Glorot, He/Kaiming, LeCun/SELU, orthogonal, ...

Every function is a thin layer over the samplers (`fastinit.normal`, `fastinit.uniform`,
`fastinit.truncated_normal`, `fastinit.random`): it computes the fans (`fastinit.compute_fans`)
and the gain (`fastinit.calculate_gain`), turns them into one standard deviation or bound, and
fills with one sampler call. So every initializer inherits the stream contract: values depend
only on (rng state, global index, parameters, dtype width), never on `threads`, the memory
layout of `out` or the block split, and ``global_shape=``/``index=`` fill one block of a
larger tensor bit for bit (the fans then come from `global_shape`).

Conventions shared by every function here:

* `shape` first (or ``out=`` to fill in place, which is returned); keyword-only `dtype`
  (float32 by default; float64, float16, bfloat16; complex64/complex128 where noted), `rng`,
  `threads`, `global_shape`, `index`, exactly as the samplers take them.
* Weight layout (out, in, \*kernel) like PyTorch unless ``layout='jax'`` (\*kernel, in, out)
  or explicit `in_axis`/`out_axis`/`batch_axis`; ``fan_in=``/``fan_out=`` override the fans.
* A tensor with no elements (a zero-size axis in the global shape) is a no-op: a
  ``UserWarning("Initializing zero-element tensors is a no-op")`` as PyTorch's kaiming_*
  gives, and `out` is returned unchanged (all other arguments are still validated).
  `constant`, `zeros` and `ones` skip the warning (an empty constant fill is not suspicious).
* Every argument is validated before anything is written; a bad call leaves `out` untouched
  and a Generator unconsumed. A scale (fans, gain, scale) whose samples could leave the
  dtype's finite range is a ValueError naming those parameters (docs/contract.md, "Range").
* `*_normal` means the plain, untruncated normal of the papers and of PyTorch; the truncated
  normal of JAX/Keras (same variance) is ``variance_scaling(..., distribution='truncated_normal')``.

Submodules:

* `scaling`: `variance_scaling`, ``xavier_*``/``glorot_*``, ``he_*``/``kaiming_*``, ``lecun_*``,
  `selu_normal`, and the scheme they share (fans and gain to one standard deviation, one
  draw); `TRUNCATED_STD`, `COMPLEX_TRUNCATED_STD`.
* `orthogonality`: `orthogonal`, `delta_orthogonal`.
* `identity`: `eye`, `dirac`.
* `sparsity`: `sparse`.
* `constants`: `constant`, `zeros`, `ones`.
* `common`: what they all share: argument checks, the validated target of a call, the
  empty-tensor no-op, writing computed values, the docstring fragments.
"""

from . import scaling as _scaling
from .constants import constant, ones, zeros
from .identity import dirac, eye
from .orthogonality import delta_orthogonal, orthogonal
from .scaling import (glorot_normal, glorot_uniform, he_normal, he_uniform, kaiming_normal,
                      kaiming_uniform, lecun_normal, lecun_uniform, selu_normal,
                      variance_scaling, xavier_normal, xavier_uniform)
from .sparsity import sparse

__all__ = [
    "variance_scaling",
    "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal",
    "lecun_uniform", "lecun_normal", "selu_normal",
    "orthogonal", "delta_orthogonal", "eye", "dirac", "sparse",
    "constant", "zeros", "ones",
]

#: Standard deviation of N(0, 1) truncated to [-2, 2] (see `scaling`).
TRUNCATED_STD = _scaling.TRUNCATED_STD
#: Standard deviation of a standard complex normal whose modulus is cut at 2 (see `scaling`).
COMPLEX_TRUNCATED_STD = _scaling.COMPLEX_TRUNCATED_STD
