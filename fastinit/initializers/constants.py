"""Constant fills: `constant`, `zeros`, `ones`."""

import numpy as np

from .. import _dtypes
from .common import _check_rng_threads, _allocate, _doc, _full_index, _noop, _store, _target

@_doc(complex_ok=True)
def constant(shape=None, value=None, *, out=None, dtype=None, rng=None, threads=None,
             global_shape=None, index=None):
    r"""Fill with `value` (a scalar, or an array broadcastable to the global shape).

    As ``torch.nn.init.constant_`` / ``jax.nn.initializers.constant`` /
    ``keras.initializers.Constant``. Written with ``np.copyto``, split over `threads` for
    large tensors (numpy releases the GIL). Non-finite values (inf, nan) are written as
    given; a finite value that overflows the dtype (1e5 in float16) is a ValueError.
    `rng` is validated and not used; an empty tensor is returned without a warning.

    Parameters
    ----------
    shape : int or tuple of ints, optional
    value : number or array_like
        Required. Complex values need a complex dtype.
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.
    """
    if value is None:
        raise TypeError("constant() missing required argument 'value'")
    t = _target("constant", shape, out, dtype, global_shape, index, complex_ok=True)
    v = np.asarray(value)
    if v.dtype.kind not in "biufc":
        raise TypeError(f"value must be a number or an array of numbers, got {v.dtype}")
    try:
        np.broadcast_shapes(v.shape, t.gshape)
        ok = np.broadcast_shapes(v.shape, t.gshape) == t.gshape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"value of shape {v.shape} does not broadcast to the tensor's shape "
                         f"{t.gshape}")
    if v.dtype.kind == "c" and t.cdtype is None:
        if np.any(v.imag != 0):
            raise TypeError("a complex value needs a complex dtype (complex64 or complex128)")
        v = v.real
    target = t.cdtype if t.cdtype is not None else (
        np.float32 if t.code == _dtypes.BF16 and _dtypes.bfloat16_dtype() is None
        else _dtypes.numpy_dtype(t.code))
    with np.errstate(over="ignore", invalid="ignore"):
        cast = v.astype(target)
    if np.any(np.isfinite(v) & ~np.isfinite(cast)):
        name = t.cdtype if t.cdtype is not None else _dtypes.NAMES[t.code]
        raise ValueError(f"value {value!r} overflows {name}")
    if t.empty:
        return _noop(t, rng, threads, warn=False)
    nthreads = _check_rng_threads(rng, threads)
    _allocate(t)
    # the value's block, without a view of the whole global tensor (whose byte size may
    # exceed what numpy can describe)
    vb = v.reshape((1,) * (len(t.gshape) - v.ndim) + v.shape)
    ix = _full_index(t)
    if ix is not None:
        vb = vb[tuple(s if n > 1 else slice(None) if isinstance(s, slice) else 0
                      for s, n in zip(ix, vb.shape))]
    return _store(t, np.broadcast_to(vb, t.bshape), nthreads)


@_doc(complex_ok=True)
def zeros(shape=None, *, out=None, dtype=None, rng=None, threads=None, global_shape=None,
          index=None):
    r"""Fill with 0 (``torch.nn.init.zeros_``, ``jax.nn.initializers.zeros``).

    Parameters
    ----------
    shape : int or tuple of ints, optional
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.
    """
    return constant(shape, 0.0, out=out, dtype=dtype, rng=rng, threads=threads,
                    global_shape=global_shape, index=index)


@_doc(complex_ok=True)
def ones(shape=None, *, out=None, dtype=None, rng=None, threads=None, global_shape=None,
         index=None):
    r"""Fill with 1 (``torch.nn.init.ones_``, ``jax.nn.initializers.ones``).

    Parameters
    ----------
    shape : int or tuple of ints, optional
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.
    """
    return constant(shape, 1.0, out=out, dtype=dtype, rng=rng, threads=threads,
                    global_shape=global_shape, index=index)
