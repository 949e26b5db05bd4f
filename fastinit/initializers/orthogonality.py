"""Orthogonal initializers: `orthogonal` (Saxe et al. 2014) and `delta_orthogonal`.

Both draw a whole Gaussian matrix and take its QR factorization before writing anything,
through a committed stream (`_committed_stream`): a caller's Generator moves on only when
the fill completes.
"""

import contextlib
import math

import numpy as np

from .. import _dtypes, _linalg, fans as _fans, samplers
from .common import (_check_gain_fits, _check_rng_threads, _doc, _full_index, _int, _noop,
                     _positions, _positive, _store, _target)

@contextlib.contextmanager
def _committed_stream(rng):
    """An rng to draw from now whose consumption reaches a caller's Generator only when the
    block completes: a fill that draws everything before it writes (the QR of `orthogonal`)
    leaves the Generator as it was if it fails or is interrupted before writing.

    The Generator's lock is held throughout, so that threads sharing it still each get
    their own piece of the stream.
    """
    bg = rng.bit_generator if isinstance(rng, np.random.Generator) else (
        rng if type(rng) is np.random.PCG64 else None)
    if bg is None:
        yield rng
        return
    with bg.lock:
        private = np.random.PCG64(0)
        private.state = bg.state
        yield private
        bg.state = private.state


def _orthogonal_matrix(gshape, column_axis, code, rng, threads, block):
    """The orthogonal tensor of shape `gshape` (float32, or float64 for float64 fills).

    The (m, n) matrix is filled in C order with N(0, 1) by `fastinit.normal`, decomposed as
    QR (of its transpose when m < n) and Q's columns multiplied by sign(diag(R)).
    """
    real = np.float64 if code == _dtypes.F64 else np.float32
    if column_axis is None:
        m = gshape[0]
        n = math.prod(gshape[1:])
        moved = gshape
    else:
        n = gshape[column_axis]
        m = math.prod(gshape) // n
        moved = gshape[:column_axis] + gshape[column_axis + 1:] + (n,)
    a = samplers.normal((m, n), dtype=real, rng=rng, threads=threads,
                        global_shape=(m, n) if block else None)
    tall = m >= n
    q, r = _linalg.qr(a if tall else a.T)
    # Mezzadri (2007): fixing the signs of diag(R) makes Q Haar-distributed. sign(0) is
    # taken as +1 (PyTorch's sign() would zero that column; probability zero anyway).
    q *= np.where(np.diagonal(r) < 0, -1, 1).astype(q.dtype)
    q = (q if tall else q.T).reshape(moved)
    if column_axis is not None:
        q = np.moveaxis(q, -1, column_axis)
    return q


@_doc()
def orthogonal(shape=None, gain=1.0, *, column_axis=None, out=None, dtype=None, rng=None,
               threads=None, global_shape=None, index=None):
    r"""A (semi-)orthogonal matrix, reshaped to `shape`, times `gain` (Saxe et al. 2014).

    PyTorch's convention by default: the tensor is read as a matrix W of
    rows = shape[0] by cols = prod(shape[1:]). W is filled with N(0, 1) by `fastinit.normal`
    (in C order), factored as W = QR (W^T = QR when rows < cols), and each column of Q is
    multiplied by the sign of the matching diagonal entry of R, so that diag(R) > 0 and Q is
    uniformly (Haar) distributed (Mezzadri 2007). The result is gain * Q (gain * Q^T when
    rows < cols): orthonormal columns when rows >= cols, orthonormal rows otherwise.

    With ``column_axis=k`` (JAX's convention, ``jax.nn.initializers.orthogonal`` uses
    k = -1): the matrix is n_rows = prod(other axes) by n_cols = shape[k], built from the
    tensor with axis k moved last, and moved back afterwards.

    Computed in float64 for float64 and in float32 otherwise (float16/bfloat16 are rounded
    from the float32 result). The whole matrix is computed even for a block
    (``global_shape=``/``index=``), so that the block equals the slice of the full result;
    a Generator is consumed (rows * cols normal draws) only by a full fill.

    Parameters
    ----------
    shape : int or tuple of ints, optional
        At least 2-D.
    gain : float
        Positive finite multiplier.
    column_axis : int, optional
        None (default): rows = shape[0] as in ``torch.nn.init.orthogonal_``; an int: JAX's
        column axis.
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        ``"Only tensors with 2 or more dimensions are supported"`` (PyTorch's message).
    TypeError
        A complex dtype (not supported).

    References
    ----------
    A. Saxe, J. McClelland, S. Ganguli (2014), "Exact solutions to the nonlinear dynamics of
    learning in deep linear neural networks", ICLR. F. Mezzadri (2007), "How to generate
    random matrices from the classical compact groups", Notices of the AMS.

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> w = fastinit.orthogonal((64, 32), rng=0, dtype=np.float64)
    >>> bool(np.allclose(w.T @ w, np.eye(32)))
    True
    """
    gain = _positive(gain, "gain")
    t = _target("orthogonal", shape, out, dtype, global_shape, index)
    _check_gain_fits(t, gain)
    if len(t.gshape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    ax = None
    if column_axis is not None:
        ax = _int(column_axis, "column_axis", -len(t.gshape))
        if ax >= len(t.gshape):
            raise ValueError(f"column_axis={column_axis} is out of range for a "
                             f"{len(t.gshape)}-dimensional shape")
        ax %= len(t.gshape)
    if t.empty:
        return _noop(t, rng, threads)
    nthreads = _check_rng_threads(rng, threads)
    with _committed_stream(rng) as stream:
        return _orthogonal_store(t, ax, stream, threads, nthreads, gain, global_shape)


def _orthogonal_store(t, ax, rng, threads, nthreads, gain, global_shape):
    q = _orthogonal_matrix(t.gshape, ax, t.code, rng, threads, global_shape is not None)
    ix = _full_index(t)
    if ix is not None:
        q = q[ix]
    q = q * q.dtype.type(gain)
    return _store(t, q, nthreads)


@_doc()
def delta_orthogonal(shape=None, gain=1.0, *, layout=None, out=None, dtype=None, rng=None,
                     threads=None, global_shape=None, index=None):
    r"""Delta-orthogonal conv kernel (Xiao et al. 2018): orthogonal at the centre, 0 elsewhere.

    For a 1-, 2- or 3-D convolution kernel of ``out`` output and ``in`` input channels
    (in <= out), the spatial centre tap ((k - 1) // 2 along each kernel axis, as JAX) holds
    ``gain * orthogonal((out, in))`` (orthonormal columns, drawn as `orthogonal` draws it
    from the same `rng`) and every other tap is 0, so the convolution is an isometry at
    initialization. Same construction as ``jax.nn.initializers.delta_orthogonal``.

    Parameters
    ----------
    shape : tuple of ints, optional
        3-D, 4-D or 5-D.
    gain : float
        Positive finite multiplier.
    layout : {'torch', 'jax'}, optional
        ``'torch'`` (default): (out, in, \*kernel); ``'jax'`` (or ``'flax'``, ``'keras'``,
        ``'tensorflow'``): (\*kernel, in, out), where the centre holds the transpose, so the
        two layouts give the same kernel for the same rng.
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        A shape that is not 3-, 4- or 5-D, or has more input than output channels.

    References
    ----------
    L. Xiao, Y. Bahri, J. Sohl-Dickstein, S. Schoenholz, J. Pennington (2018), "Dynamical
    isometry and a mean field theory of CNNs", ICML.
    """
    gain = _positive(gain, "gain")
    key = _fans.resolve_layout(layout, None, None)[0]
    t = _target("delta_orthogonal", shape, out, dtype, global_shape, index)
    _check_gain_fits(t, gain)
    nd = len(t.gshape)
    if nd not in (3, 4, 5):
        raise ValueError(f"delta_orthogonal needs a 3-D, 4-D or 5-D shape, got {t.gshape}")
    jaxlike = key != "torch"
    o_ax, i_ax = (nd - 1, nd - 2) if jaxlike else (0, 1)
    k_axes = tuple(range(nd - 2)) if jaxlike else tuple(range(2, nd))
    n_out, n_in = t.gshape[o_ax], t.gshape[i_ax]
    if n_in > n_out:
        raise ValueError(f"delta_orthogonal needs in channels <= out channels, got in={n_in}, "
                         f"out={n_out} (shape {t.gshape}, layout {key!r})")
    if t.empty:
        return _noop(t, rng, threads)
    nthreads = _check_rng_threads(rng, threads)
    with _committed_stream(rng) as stream:
        return _delta_orthogonal_store(t, stream, threads, nthreads, gain, global_shape, jaxlike,
                                       o_ax, i_ax, k_axes, n_out, n_in)


def _delta_orthogonal_store(t, rng, threads, nthreads, gain, global_shape, jaxlike, o_ax, i_ax,
                            k_axes, n_out, n_in):
    nd = len(t.gshape)
    q = _orthogonal_matrix((n_out, n_in), None, t.code, rng, threads, global_shape is not None)
    q = q * q.dtype.type(gain)
    pos = _positions(t)
    lens = [len(p) for p in pos]
    vals = q[np.ix_(pos[o_ax], pos[i_ax])]          # (out, in) positions of the block
    if jaxlike:
        vals = vals.T
    vals = vals.reshape([lens[a] if a in (o_ax, i_ax) else 1 for a in range(nd)])
    for ax in k_axes:
        centre = (pos[ax] == (t.gshape[ax] - 1) // 2).astype(q.dtype)
        vals = vals * centre.reshape([-1 if a == ax else 1 for a in range(nd)])
    vals = np.broadcast_to(vals, lens).reshape(t.bshape)
    return _store(t, vals, nthreads)
