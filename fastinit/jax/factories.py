"""The random factories: uniform, normal, truncated_normal, variance_scaling, its named forms."""

import math

import numpy as np

from .. import initializers as _fi, samplers as _samplers
from .oracle import _Oracle
from .originals import _ref
from .running import _INIT_DOC, _Spec, _make
from .values import _kw, _real_param, _scaled


def uniform(scale=1e-2, dtype=None):
    """``jax.nn.initializers.uniform``: values uniform in [0, scale), fastinit's stream.

    fastinit: ``fastinit.uniform(shape, 0, scale, rng=stream(key))`` (negative `scale`:
    the negation of the fill with ``|scale|``, i.e. values in (scale, 0] as JAX's
    ``U[0, 1) * scale``).
    """
    def check():
        _real_param(scale, "scale")

    def fill(call, gshape, dtype, index, s):
        return _samplers.uniform(gshape if index is None else None, 0.0, s,
                                 **_kw(call, gshape, dtype, index))

    def lazy(call, gshape, dtype, index):
        return _scaled(fill, _real_param(scale, "scale"))(call, gshape, dtype, index)

    spec = _Spec("uniform", _ref.uniform(scale, dtype), lazy, check=check)
    return _make(spec, dtype, _INIT_DOC.format(what=f"Uniform in [0, {scale!r})."))


def normal(stddev=1e-2, dtype=None):
    """``jax.nn.initializers.normal``: N(0, stddev^2), fastinit's stream.

    Real: ``fastinit.normal(shape, 0, stddev)``. Complex: real and imaginary parts each
    N(0, stddev^2 / 2) (as JAX), i.e. ``fastinit.variance_scaling`` 'normal' with variance
    stddev^2; element k uses stream words 2k, 2k + 1.
    """
    def fill(call, gshape, dtype, index, s):
        kw = _kw(call, gshape, dtype, index)
        shape = gshape if index is None else None
        if dtype.kind == "c":
            return _fi.variance_scaling(shape, s * s, "fan_in", "normal", fan_in=1, fan_out=1,
                                        **kw)
        return _samplers.normal(shape, 0.0, s, **kw)

    def lazy(call, gshape, dtype, index):
        return _scaled(fill, _real_param(stddev, "stddev"))(call, gshape, dtype, index)

    spec = _Spec("normal", _ref.normal(stddev, dtype), lazy, complex_ok=True,
                 check=lambda: _real_param(stddev, "stddev"))
    return _make(spec, dtype, _INIT_DOC.format(what=f"Normal, std {stddev!r}."))


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """``jax.nn.initializers.truncated_normal``: N(0, 1) cut to [lower, upper], times stddev.

    Bounds in units of `stddev`, no variance correction (as JAX):
    ``fastinit.truncated_normal(shape, 0, stddev, lower, upper)``. ``lower < upper``
    is required (JAX does not check reversed bounds; fastinit raises ValueError). A negative
    `stddev` gives ``stddev * z`` as in JAX (the fill with ``|stddev|``, negated).
    """
    def check():
        _real_param(stddev, "stddev")
        lo, hi = float(np.asarray(lower)), float(np.asarray(upper))
        if not lo < hi:
            raise ValueError(f"truncated_normal needs lower < upper, got lower={lower!r}, "
                             f"upper={upper!r}")

    def fill(call, gshape, dtype, index, s):
        return _samplers.truncated_normal(
            gshape if index is None else None, 0.0, s,
            float(np.asarray(lower)), float(np.asarray(upper)), **_kw(call, gshape, dtype, index))

    def lazy(call, gshape, dtype, index):
        return _scaled(fill, _real_param(stddev, "stddev"))(call, gshape, dtype, index)

    spec = _Spec("truncated_normal", _ref.truncated_normal(stddev, dtype, lower, upper), lazy,
                 check=check)
    return _make(spec, dtype, _INIT_DOC.format(
        what=f"Truncated normal, std {stddev!r}, bounds [{lower!r}, {upper!r}] std."))


def _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    """JAX's ``jax._src.nn.initializers._compute_fans``, same arithmetic (float fans)."""
    if isinstance(in_axis, int):
        in_size = shape[in_axis]
    else:
        in_size = math.prod([shape[i] for i in in_axis])
    if isinstance(out_axis, int):
        out_size = shape[out_axis]
    else:
        out_size = math.prod([shape[i] for i in out_axis])
    if isinstance(batch_axis, int):
        batch_size = shape[batch_axis]
    else:
        batch_size = math.prod([shape[i] for i in batch_axis])
    receptive_field_size = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field_size, out_size * receptive_field_size


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(),
                     dtype=None):
    """``jax.nn.initializers.variance_scaling`` filled by ``fastinit.variance_scaling``.

    Variance ``scale / n`` with n = fan_in, fan_out, (fan_in + fan_out) / 2 or
    sqrt(fan_in * fan_out) from JAX's fan formula over `in_axis`/`out_axis`/`batch_axis`;
    'truncated_normal' is N(0, 1) cut at +-2 times ``sqrt(scale / n) / 0.8796...``,
    'normal' untruncated, 'uniform' U[-1, 1) times ``sqrt(3 scale / n)``; complex dtypes as
    ``fastinit.variance_scaling`` (the complex truncated normal has variance exactly
    scale / n; JAX's constant leaves it 1.9 % higher). `scale` must be positive (JAX returns
    NaN for a negative scale; fastinit raises ValueError).
    """
    def check():
        v = _real_param(scale, "scale")
        if v <= 0:
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")

    def fill(call, gshape, dtype, index):
        fi, fo = _compute_fans(gshape, in_axis, out_axis, batch_axis)
        return _fi.variance_scaling(gshape if index is None else None,
                                    _real_param(scale, "scale"), mode, distribution,
                                    fan_in=fi, fan_out=fo, **_kw(call, gshape, dtype, index))

    spec = _Spec("variance_scaling",
                 _ref.variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis,
                                       dtype),
                 fill, complex_ok=True, check=check)
    return _make(spec, dtype, _INIT_DOC.format(
        what=f"Variance scaling ({scale!r}, {mode!r}, {distribution!r})."))


def _named_vs(name, scale, mode, distribution, ref_factory):
    def factory(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
        init = variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)
        # same values as variance_scaling; JAX's own named factory as the oracle, our name
        spec = init.fastinit_spec
        spec.name = name
        spec.oracle = _Oracle(ref_factory(in_axis, out_axis, batch_axis, dtype))
        init.__name__ = init.__qualname__ = name + ".init"
        return init
    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (f"``jax.nn.initializers.{name}``: variance_scaling({scale}, "
                       f"{mode!r}, {distribution!r}) filled by fastinit.")
    return factory


glorot_uniform = _named_vs("glorot_uniform", 1.0, "fan_avg", "uniform", _ref.glorot_uniform)
glorot_normal = _named_vs("glorot_normal", 1.0, "fan_avg", "truncated_normal",
                          _ref.glorot_normal)
lecun_uniform = _named_vs("lecun_uniform", 1.0, "fan_in", "uniform", _ref.lecun_uniform)
lecun_normal = _named_vs("lecun_normal", 1.0, "fan_in", "truncated_normal", _ref.lecun_normal)
he_uniform = _named_vs("he_uniform", 2.0, "fan_in", "uniform", _ref.he_uniform)
he_normal = _named_vs("he_normal", 2.0, "fan_in", "truncated_normal", _ref.he_normal)
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal
