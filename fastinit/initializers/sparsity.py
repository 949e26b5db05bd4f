"""`sparse`: a sparse 2-D matrix (Martens 2010) reproducible from the rng alone."""

import math
import operator

import numpy as np

from .. import _dtypes, _engine, _layout, _params, _rng, samplers
from .common import _doc, _full_index, _noop, _real, _sampler_dtype, _target

@_doc()
def sparse(shape=None, sparsity=None, std=0.01, *, out=None, dtype=None, rng=None,
           threads=None, global_shape=None, index=None):
    r"""Sparse 2-D matrix (Martens 2010): N(0, std^2), with ceil(sparsity * rows) zeros per column.

    As ``torch.nn.init.sparse_``, but reproducible from `rng` alone (PyTorch draws the zero
    positions with ``torch.randperm`` from the global generator). With n = rows * cols:

    1. the values are ``fastinit.normal(shape, 0, std)``: stream words 0 .. n - 1;
    2. the keys are ``fastinit.random(shape)`` (float32 keys, float64 for float64 fills):
       stream words n .. 2n - 1, i.e. the next n words;
    3. in each column, the ceil(sparsity * rows) rows with the smallest keys (ties to the
       lower row) are set to 0 — a uniformly random subset, as a random permutation gives.

    A full fill consumes 2n words of a Generator; a block fill (``global_shape=``) reads the
    same words and consumes none, and computes the keys of its whole columns.

    Parameters
    ----------
    shape : tuple of 2 ints, optional
    sparsity : float
        Fraction of each column set to zero, in [0, 1]. Required.
    std : float
        Standard deviation of the non-zero values (>= 0).
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        ``"Only tensors with 2 dimensions are supported"`` (PyTorch's message); a sparsity
        outside [0, 1].

    References
    ----------
    J. Martens (2010), "Deep learning via Hessian-free optimization", ICML.
    """
    if sparsity is None:
        raise TypeError("sparse() missing required argument 'sparsity'")
    sp = _real(sparsity, "sparsity")
    if not 0.0 <= sp <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    t = _target("sparse", shape, out, dtype, global_shape, index)
    if len(t.gshape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    _check_std(std)
    _params.normal(0.0, float(std), -math.inf, math.inf, t.code)    # the values' range
    if t.empty:
        return _noop(t, rng, threads)
    _engine.resolve_threads(threads)
    _rng.resolve(rng)                       # type checks and messages, nothing consumed
    stream = _one_generator(rng)
    nzero = math.ceil(sp * t.gshape[0])
    if global_shape is None:
        res, zero = _draw_full(t, std, nzero, stream, threads)
    else:
        res, zero = _draw_block(t, std, nzero, stream, threads)
    arr = _layout.as_writable_array(res)
    arr[zero] = 0          # +0.0 has all bits 0 in every float format, uint16 buffers too
    return res


def _one_generator(rng):
    """One Generator for both draws (an int seed must not restart the stream for the keys)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.Generator(rng if type(rng) is np.random.PCG64 else np.random.PCG64(rng))


def _values(t, std, stream, threads, **block):
    """The N(0, std^2) values, into `out` or a new array; `block`: global_shape=, index=."""
    return samplers.normal(t.bshape if t.out is None else None, 0.0, std, out=t.out,
                           dtype=_sampler_dtype(t), rng=stream, threads=threads, **block)


def _key_dtype(t):
    return np.float64 if t.code == _dtypes.F64 else np.float32


def _draw_full(t, std, nzero, stream, threads):
    """(values, mask of the zeros) of a full fill: the values, then the next n words as keys."""
    res = _values(t, std, stream, threads)
    keys = samplers.random(t.gshape, dtype=_key_dtype(t), rng=stream, threads=threads)
    return res, _lowest(keys, nzero)


def _draw_block(t, std, nzero, stream, threads):
    """(values, mask of the zeros) of a block: the full fill's words, read as blocks of a
    (2, rows, cols) tensor, values from [0] and the keys of the block's whole columns from
    [1] (a column's zeros depend on all its rows)."""
    rows, cols = t.gshape
    ri, ci = _full_index(t)
    res = _values(t, std, stream, threads, global_shape=(2, rows, cols), index=(0, ri, ci))
    keys = samplers.random(None, dtype=_key_dtype(t), rng=stream, threads=threads,
                           global_shape=(2, rows, cols), index=(1, slice(None), ci))
    zero = _lowest(keys.reshape(rows, -1), nzero)
    zero = zero[ri] if isinstance(ri, slice) else zero[operator.index(ri) % rows]
    return res, zero.reshape(t.bshape)


def _check_std(std):
    s = _real(std, "std")
    if not math.isfinite(s):
        raise ValueError(f"std must be finite, got {std}")
    if s < 0:
        raise ValueError(f"std must be >= 0, got {std}")


def _lowest(keys, k):
    """Boolean mask of the k smallest keys of each column (stable: ties to the lower row)."""
    mask = np.zeros(keys.shape, dtype=bool)
    if k:
        order = np.argsort(keys, axis=0, kind="stable")[:k]
        np.put_along_axis(mask, order, True, axis=0)
    return mask
