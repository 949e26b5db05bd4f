"""Identity-like fills that draw nothing: `eye` (identity matrix) and `dirac` (identity
convolution)."""

import math

import numpy as np

from .. import fans as _fans
from .common import (_check_gain_fits, _check_rng_threads, _doc, _int, _noop, _positions,
                     _real, _store, _target)

@_doc(complex_ok=True)
def eye(shape=None, gain=1.0, *, out=None, dtype=None, rng=None, threads=None,
        global_shape=None, index=None):
    r"""The identity matrix (times `gain`) of a 2-D shape: W[i, j] = gain if i == j else 0.

    Non-square shapes get ones on the main diagonal, as ``torch.nn.init.eye_`` and
    ``keras.initializers.Identity(gain)``. `rng` is validated and not used.

    Parameters
    ----------
    shape : tuple of 2 ints, optional
    gain : float
        Finite value on the diagonal.
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        ``"Only tensors with 2 dimensions are supported"`` (PyTorch's message).
    """
    g = _real(gain, "gain")
    if not math.isfinite(g):
        raise ValueError(f"gain must be finite, got {gain}")
    t = _target("eye", shape, out, dtype, global_shape, index, complex_ok=True)
    _check_gain_fits(t, g)
    if len(t.gshape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    if t.empty:
        return _noop(t, rng, threads)
    nthreads = _check_rng_threads(rng, threads)
    r, c = _positions(t)
    vals = np.where(r[:, None] == c[None, :], g, 0.0).reshape(t.bshape)
    return _store(t, vals, nthreads)


@_doc(complex_ok=True)
def dirac(shape=None, groups=1, *, layout=None, out=None, dtype=None, rng=None, threads=None,
          global_shape=None, index=None):
    r"""Dirac delta kernel: convolutions initialized with it pass their input through.

    As ``torch.nn.init.dirac_``: with ``opg = out // groups`` output channels per group,
    ``W[o, i, *centre] = 1`` when ``i == o % opg`` (i.e. output d of each group copies input d,
    for d < min(opg, in)), 0 elsewhere; the centre is k // 2 along each kernel axis.
    `rng` is validated and not used.

    Parameters
    ----------
    shape : tuple of ints, optional
        3-D, 4-D or 5-D (1-, 2-, 3-D convolution).
    groups : int
        Number of groups of the convolution; must divide the output channels.
    layout : {'torch', 'jax'}, optional
        ``'torch'`` (default): (out, in, \*kernel); ``'jax'``: (\*kernel, in, out).
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        ``"Only tensors with 3, 4, or 5 dimensions are supported"``, ``"dim 0 must be
        divisible by groups"`` (PyTorch's messages; the jax layout names the last axis).
    """
    groups = _int(groups, "groups", 1)
    key = _fans.resolve_layout(layout, None, None)[0]
    t = _target("dirac", shape, out, dtype, global_shape, index, complex_ok=True)
    nd = len(t.gshape)
    if nd not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    jaxlike = key != "torch"
    o_ax, i_ax = (nd - 1, nd - 2) if jaxlike else (0, 1)
    k_axes = tuple(range(nd - 2)) if jaxlike else tuple(range(2, nd))
    if t.gshape[o_ax] % groups:
        raise ValueError("dim 0 must be divisible by groups" if not jaxlike else
                         f"the output channels (last axis, {t.gshape[o_ax]}) must be "
                         f"divisible by groups ({groups})")
    if t.empty:
        return _noop(t, rng, threads)
    nthreads = _check_rng_threads(rng, threads)
    opg = t.gshape[o_ax] // groups
    pos = _positions(t)

    def along(ax, v):
        return v.reshape([-1 if a == ax else 1 for a in range(nd)])

    hit = along(i_ax, pos[i_ax]) == along(o_ax, pos[o_ax] % opg)
    for ax in k_axes:
        hit = hit & along(ax, pos[ax] == t.gshape[ax] // 2)
    vals = np.broadcast_to(hit, [len(p) for p in pos]).reshape(t.bshape)
    return _store(t, vals.astype(np.float32), nthreads)
