"""orthogonal and delta_orthogonal: (semi-)orthogonal matrices, real and complex."""

import math

import numpy as np

from .. import _linalg, initializers as _fi, samplers as _samplers
from .originals import _ref
from .running import _INIT_DOC, _Spec, _make
from .values import _real_param


def _complex_orthogonal(call, gshape, column_axis, dtype):
    """Haar-distributed complex (semi-)unitary matrix, JAX's layout; float stream as fastinit."""
    n = gshape[column_axis]
    m = math.prod(gshape) // n
    real = np.float32 if dtype == np.complex64 else np.float64
    z = _samplers.normal((m, n, 2), 0.0, math.sqrt(0.5), dtype=real, rng=call.ss)
    z = z.view(dtype)[..., 0]
    tall = m >= n
    q, r = _linalg.qr(z if tall else z.T)
    d = np.diagonal(r)
    ph = np.where(d == 0, 1, d / np.where(d == 0, 1, np.abs(d))).astype(dtype)
    q = q * ph
    q = (q if tall else q.T)
    q = q.reshape(tuple(np.delete(gshape, column_axis)) + (n,))
    return np.moveaxis(q, -1, column_axis)


def _orthogonal_full(call, gshape, dtype, scale, column_axis):
    """The whole orthogonal tensor times `scale` (computed once per call)."""
    mk = ("ortho", gshape, column_axis)
    q = call.memo.get(mk)
    if q is None:
        ax = column_axis % len(gshape)
        if dtype.kind == "c":
            q = _complex_orthogonal(call, gshape, ax, dtype) * dtype.type(scale)
        elif scale == 0:
            q = np.zeros(gshape, dtype)
        else:
            q = _fi.orthogonal(gshape, abs(scale), column_axis=ax, dtype=dtype, rng=call.ss)
            if scale < 0:
                np.negative(q, out=q)
        call.memo[mk] = q
    return q


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """``jax.nn.initializers.orthogonal``: uniformly (Haar) distributed orthogonal matrices.

    The matrix has n_cols = shape[column_axis] columns and n_rows = prod(other axes) rows
    (JAX's convention); it is ``fastinit.orthogonal(shape, scale, column_axis=column_axis)``
    (QR of an N(0, 1) matrix with the signs of diag(R) fixed). Complex dtypes: QR of a
    complex normal matrix (parts N(0, 1/2), element k from words 2k, 2k + 1) with the phases
    of diag(R) removed. Accepts ``out_sharding`` (JAX raises NotImplementedError).
    """
    def fill(call, gshape, dtype, index):
        q = _orthogonal_full(call, gshape, dtype, _real_param(scale, "scale"), column_axis)
        return q if index is None else np.ascontiguousarray(q[tuple(index)])

    spec = _Spec("orthogonal", _ref.orthogonal(scale, column_axis, dtype), fill,
                 complex_ok=True, check=lambda: _real_param(scale, "scale"))
    return _make(spec, dtype, _INIT_DOC.format(what=f"Orthogonal, scale {scale!r}."))


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """``jax.nn.initializers.delta_orthogonal``: orthogonal (in, out) matrix at the kernel centre.

    For a 3-, 4- or 5-D kernel (\\*k, in, out) with in <= out: the centre tap
    ((k - 1) // 2 along each kernel axis) holds ``orthogonal(scale, column_axis)(key,
    shape[-2:])`` (same values for the same key), every other tap is 0 (Xiao et al. 2018).
    Sharded blocks are built from their own index (zeros plus their part of the centre).
    """
    def fill(call, gshape, dtype, index):
        nd = len(gshape)
        q = _orthogonal_full(call, gshape[-2:], dtype, _real_param(scale, "scale"),
                             column_axis)
        ix = (slice(None),) * nd if index is None else tuple(index)
        pos = [np.arange(*s.indices(n)) for s, n in zip(ix, gshape)]
        vals = q[np.ix_(pos[-2], pos[-1])]
        mask = np.ones((1,) * nd, bool)
        for ax in range(nd - 2):
            c = pos[ax] == (gshape[ax] - 1) // 2
            mask = mask & c.reshape([-1 if a == ax else 1 for a in range(nd)])
        out = np.where(mask, vals.reshape((1,) * (nd - 2) + vals.shape), dtype.type(0))
        return np.ascontiguousarray(out, dtype=dtype)

    spec = _Spec("delta_orthogonal", _ref.delta_orthogonal(scale, column_axis, dtype), fill,
                 complex_ok=True, check=lambda: _real_param(scale, "scale"))
    return _make(spec, dtype, _INIT_DOC.format(what=f"Delta orthogonal, scale {scale!r}."))
