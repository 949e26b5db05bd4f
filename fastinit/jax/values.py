"""Value helpers shared by the factories: parameters, fill keywords, signed scales."""

import math

import numpy as np


def _kw(call, gshape, dtype, index):
    if index is None:
        return dict(dtype=dtype, rng=call.ss)
    return dict(dtype=dtype, rng=call.ss, global_shape=gshape, index=tuple(index))


def _bshape(gshape, index):
    if index is None:
        return gshape
    return tuple(len(range(*s.indices(n))) for s, n in zip(index, gshape))


def _real_param(x, name):
    """A concrete real parameter (Python/NumPy/JAX scalar) as float."""
    try:
        v = float(np.asarray(x))
    except Exception:
        raise TypeError(f"{name} must be a real scalar, got {x!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return v


def _scaled(fill_pos, s):
    """fill with |s| (a positive parameter) and negate for s < 0; zeros for s == 0."""
    def fill(call, gshape, dtype, index):
        if s == 0:
            return np.zeros(_bshape(gshape, index), dtype)
        a = fill_pos(call, gshape, dtype, index, abs(s))
        if s < 0:
            np.negative(a, out=a)
        return a
    return fill
