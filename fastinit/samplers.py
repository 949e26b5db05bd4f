"""The four samplers every initializer is built on: random, uniform, normal, truncated_normal.

All share the keywords of the stream contract (docs/contract.md):

out : array or writable buffer, optional
    Filled in place and returned. Any layout (C, Fortran, strided, negative strides); values
    depend only on each element's logical C-order index.
dtype : float32 (default), float64, float16 or bfloat16
    With a uint16 `out`, says which 16-bit format it holds.
rng : None, int, SeedSequence or PCG64-backed Generator (SPEC 7)
    An int or SeedSequence seeds exactly like ``numpy.random.default_rng``; a Generator is
    consumed as numpy would consume it for the same draws.
threads : int, optional
    Threads to use (default `get_num_threads()`); never changes the values.
global_shape, index : tuple, optional
    `out` is the block ``index`` (a tuple of slices) of a virtual tensor of `global_shape`,
    equal bit for bit to the same slice of a full fill. A Generator is not advanced by a
    block fill.
"""

import math

from . import _fill, _params

_COMMON = ("shape", "out", "dtype", "rng", "threads", "global_shape", "index")


def random(shape=None, *, out=None, dtype=None, rng=None, threads=None, global_shape=None,
           index=None):
    """Uniform samples in [0, 1): numpy's ``Generator.random``, bit for bit, in parallel.

    float32: ``(w >> 8) * 2**-24`` with w the element's 32-bit word; float64:
    ``(r >> 11) * 2**-53`` with r its 64-bit draw (float16/bfloat16: the float32 value
    rounded to nearest even, kept below 1).

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> a = np.empty(5, np.float32)
    >>> b = fastinit.random(out=a.copy(), rng=np.random.default_rng(1))
    >>> bool((b == np.random.default_rng(1).random(5, dtype=np.float32)).all())
    True
    """
    return uniform(shape, 0.0, 1.0, out=out, dtype=dtype, rng=rng, threads=threads,
                   global_shape=global_shape, index=index)


def uniform(shape=None, low=0.0, high=1.0, *, out=None, dtype=None, rng=None, threads=None,
            global_shape=None, index=None):
    """Uniform samples in [low, high).

    ``x = low + (high - low) * u`` with u from `random` (computed in float32 for 16/32-bit
    outputs, float64 for float64, where it equals ``Generator.uniform(low, high)``). Values
    that would round up to `high` are replaced by the largest value of the dtype below
    `high`, so ``low <= x < high`` always holds in the output dtype.

    Parameters
    ----------
    shape : int or tuple of ints, optional
        Shape of the result when `out` is not given.
    low, high : float
        Bounds, ``low < high``, within the output dtype's finite range (a ValueError
        otherwise: values beyond it cannot be represented).
    """
    return _fill.fill(_fill.UNIFORM, lambda code: _params.uniform(low, high, code), shape, out,
                      dtype, rng, threads, global_shape, index)


def normal(shape=None, mean=0.0, std=1.0, *, out=None, dtype=None, rng=None, threads=None,
           global_shape=None, index=None):
    """Normal samples N(mean, std**2) by inversion.

    ``x = mean + std * Phi^-1(u)``, ``u = (k + 1/2) 2^-B`` with k the element's 32-bit word
    (B = 32, float32/float16/bfloat16) or its 64-bit draw shifted right by 12 (B = 52,
    float64). Phi^-1 is Wichura's AS 241 (Applied Statistics 37, 1988): PPND7 evaluated in
    float32 (within 6.5 float32 ulp) and PPND16 in float64 (about 1e-15 relative).

    Every value is finite: a `mean`, or a `std` for which some word would give a value
    beyond the dtype's range (``|z|`` reaches 6.3379583 for 32-bit words, 8.2095362 for
    64-bit draws), is a ValueError (docs/contract.md, "Range").
    """
    return _fill.fill(_fill.NORMAL,
                      lambda code: _params.normal(mean, std, -math.inf, math.inf, code),
                      shape, out, dtype, rng, threads, global_shape, index)


def truncated_normal(shape=None, mean=0.0, std=1.0, lower=-2.0, upper=2.0, *, out=None,
                     dtype=None, rng=None, threads=None, global_shape=None, index=None):
    """Normal samples restricted to [mean + lower*std, mean + upper*std] (bounds in std units).

    ``x = mean + std * Phi^-1(Phi(l) + u (Phi(h) - Phi(l)))`` with l = `lower`, h = `upper`
    and u as in `normal`: exact inversion, one word per element, no rejection. Probabilities
    are formed in whichever tail is nearer, so far-tail intervals such as [4, 6] or
    [-inf, -5] keep full precision. The standard deviation of the result is below `std`
    (no variance correction; see `variance_scaling` for the corrected form). Outputs are
    always inside the bounds after rounding to the dtype.

    Parameters
    ----------
    lower, upper : float
        Bounds in units of `std`, ``lower < upper``; may be -inf/inf.
    """
    return _fill.fill(_fill.NORMAL, lambda code: _params.normal(mean, std, lower, upper, code),
                      shape, out, dtype, rng, threads, global_shape, index)
