"""Per-call constants of the samplers, computed once in double precision.

The C kernels get (low, range, scale, lo, hi, mean, std, pa, qb, d, cq, cmax, log_off); see
src/kernel_body.h for how they are used.
"""

import functools
import math
import statistics

from . import _dtypes

_INF = math.inf
_FLT_MAX = 3.4028234663852886e38
# Intervals whose whole probability lies below this are sampled with rescaled probabilities
# (t / S, log t = log(t / S) + log S) so that float32 keeps full relative precision.
_SCALE_BELOW = 2.0 ** -60
_BIG = 1e30
CENTRAL = 0.425          # AS 241's split between the central and the tail approximation


def _real(x, name):
    """x as a float; strings and bytes are not numbers here, even when float() parses them."""
    if isinstance(x, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    try:
        return float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}") from None


def _finite(x, name):
    x = _real(x, name)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def _bound(x, name):
    x = _real(x, name)
    if math.isnan(x):
        raise ValueError(f"{name} must not be NaN")
    return x


def phi(x):
    """Standard normal CDF, accurate in the lower tail (x may be +-inf)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


#: u is at least this far from 0 and 1: (k + 1/2) 2^-B with B = 32 (32-bit words) or 52.
_U_EDGE = {_dtypes.F32: 2.0 ** -33, _dtypes.F64: 2.0 ** -53}
_INV_CDF = statistics.NormalDist().inv_cdf


def z_extremes(l, h, pa, qb, d, code):
    """The smallest and largest z the stream can produce for [l, h] (in std units), widened
    by 1e-5 for the kernels' approximation error: Phi^-1 at u = edge and 1 - edge, each
    probability formed in the tail it lies in (Phi^-1(2^-33) = -6.3379583 for a plain
    normal from 32-bit words, Phi^-1(2^-53) = -8.2095362 from 64-bit draws)."""
    e = _U_EDGE[_dtypes.arithmetic(code)] * d
    lo = -_INV_CDF(phi(-l) - e) if l >= 0 else _INV_CDF(pa + e)
    hi = _INV_CDF(phi(h) - e) if h <= 0 else -_INV_CDF(qb + e)
    lo, hi = max(lo, l), min(hi, h)
    widen = 1e-5 * max(abs(lo), abs(hi))
    return lo - widen, hi + widen


def _range_error(name, value, code, what):
    return ValueError(f"{name}={value!r} is out of range for {_dtypes.NAMES[code]}: {what} must "
                      f"lie within +-{_dtypes.MAX[code]:.8g}, the largest finite "
                      f"{_dtypes.NAMES[code]}")


def uniform(low, high, code):
    return _uniform(_finite(low, "low"), _finite(high, "high"), code)


@functools.lru_cache(maxsize=256)
def _uniform(low, high, code):
    # Bounds beyond the dtype's range would give inf or NaN (float32(low) = -inf) or a
    # constant: they are refused rather than saturated.
    for name, v in (("low", low), ("high", high)):
        if not _dtypes.fits(code, v):
            raise _range_error(name, v, code, name)
    if not low < high:
        raise ValueError(f"low must be < high, got low={low}, high={high}")
    rng = high - low
    if not math.isfinite(rng):
        raise ValueError(f"high - low overflows: low={low}, high={high}")
    lo = _dtypes.ceil(code, low)
    hi = _dtypes.below(code, high)
    if not lo <= hi:
        raise ValueError(f"no {_dtypes.NAMES[code]} value lies in [low, high) = [{low}, {high})")
    scale = 1.0
    if code != _dtypes.F64 and abs(rng) > _FLT_MAX:
        # float32(high - low) would overflow: compute (low/2 + (high-low)/2 * u) * 2, exactly
        # the same values wherever the plain form is finite
        low, rng, scale = low / 2, rng / 2, 2.0
    return (low, rng, scale, lo, hi, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def normal(mean, std, lower, upper, code):
    """Constants for mean + std * Phi^-1(Phi(l) + u (Phi(h) - Phi(l))), l/h in std units."""
    return _normal(_finite(mean, "mean"), _finite(std, "std"), _bound(lower, "lower"),
                   _bound(upper, "upper"), code)


def _check_normal_range(mean, std, zl, zh, code):
    """Refuse parameters whose values (or the kernel's intermediate std * z) could leave the
    finite range for some z in [zl, zh]: every output is then the rounded transform itself,
    never inf or NaN."""
    ar = _dtypes.arithmetic(code)
    if not _dtypes.fits(code, mean):
        raise _range_error("mean", mean, code, "mean")
    if not _dtypes.fits(ar, std):
        raise _range_error("std", std, ar, "std" + (" (computed in float32)" if ar != code
                                                     else ""))
    zabs = max(abs(zl), abs(zh))
    if std * zabs > _dtypes.MAX[ar]:
        raise ValueError(f"std={std!r} is too large for {_dtypes.NAMES[code]}: std * z, with "
                         f"|z| up to {zabs:.8g} (the extremes of the stream), must lie within "
                         f"+-{_dtypes.MAX[ar]:.8g}")
    for z in (zl, zh):
        v = mean + std * z
        if not _dtypes.fits(code, v):
            raise ValueError(
                f"mean={mean!r} and std={std!r} reach {v:.8g}, beyond the largest finite "
                f"{_dtypes.NAMES[code]} {_dtypes.MAX[code]:.8g}: mean + std * z must stay in "
                f"range for every z the stream can give ({zl:.8g} to {zh:.8g})")


@functools.lru_cache(maxsize=256)
def _normal(mean, std, l, h, code):
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    if not l < h:
        raise ValueError(f"lower must be < upper, got lower={l}, upper={h}")
    pa = phi(l)          # P(Z < l)
    qb = phi(-h)         # P(Z > h)
    if l >= 0:
        d = phi(-l) - qb
    elif h <= 0:
        d = phi(h) - pa
    else:
        d = 1.0 - pa - qb
    if not d > 1e-300:
        raise ValueError(f"the interval [lower, upper] = [{l}, {h}] has a probability below "
                         f"1e-300 under N(0, 1); bounds beyond about 37 std are not supported")
    _check_normal_range(mean, std, *z_extremes(l, h, pa, qb, d, code), code)
    cq = pa + 0.5 * d - 0.5
    cmax = CENTRAL
    log_off = 0.0
    tail_mass = phi(h) if h <= 0 else (phi(-l) if l >= 0 else 1.0)
    if tail_mass < _SCALE_BELOW:
        scale = 2.0 ** math.floor(math.log2(tail_mass))
        log_off = math.log(scale)
        cq, cmax = 0.0, -1.0
        if h <= 0:
            pa, d, qb = pa / scale, d / scale, _BIG
        else:
            qb, d, pa = qb / scale, d / scale, _BIG
    a = mean + std * l if l > -_INF else -_INF
    b = mean + std * h if h < _INF else _INF
    if std == 0:
        # a point mass: the mean rounded to the dtype, as numpy's normal(loc, 0) gives
        lo = hi = _dtypes.nearest(code, mean)
    else:
        lo = _dtypes.ceil(code, a) if a > -_INF else -_INF
        hi = _dtypes.floor(code, b) if b < _INF else _INF
    if not lo <= hi:
        raise ValueError(f"no {_dtypes.NAMES[code]} value lies in [mean + std*lower, "
                         f"mean + std*upper] = [{a}, {b}]")
    return (0.0, 0.0, 1.0, lo, hi, mean, std, pa, qb, d, cq, cmax, log_off)
