"""A pure-NumPy reference model of fastinit's stream contract (DESIGN.md, "The stream contract").

Slow and written to be obviously correct, not fast:

* the random stream comes from numpy's own ``PCG64`` (``advance`` + ``random_raw``), split into
  32-bit words in ``next_uint32`` order (low half first), honouring the buffered half
  (``has_uint32`` / ``uinteger``) that a Generator carries after an odd number of 32-bit draws;
* element ``i`` (global C-order flat index) uses 32-bit word ``i`` (float32/float16/bfloat16) or
  64-bit draw ``i`` (float64);
* the transforms follow src/kernel_body.h operation by operation in the same precision: NumPy
  float32 arrays with float32 constants for 16/32-bit outputs, float64 for float64 outputs (NumPy
  never contracts into FMA), selects with ``np.where``, the bit tricks of the log via ``.view``;
* float16 / bfloat16 are the float32 result rounded to nearest even by numpy's / ml_dtypes'
  ``astype``;
* the clamp bounds ("smallest value of the dtype >= low", ...) are found by stepping with
  ``np.nextafter`` in the output dtype and comparing exactly in float64 (every value of the four
  dtypes is a float64).

Nothing here imports fastinit.
"""

import math
from fractions import Fraction

import ml_dtypes
import numpy as np

BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = {
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "float16": np.dtype(np.float16),
    "bfloat16": BF16,
}
_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}
_M32 = np.uint64(0xFFFFFFFF)
FLT_MAX = float(np.finfo(np.float32).max)


def as_dtype(dtype):
    if isinstance(dtype, str):
        return DTYPES[dtype]
    return np.dtype(dtype)


def bits(a):
    """The raw bit patterns of a float array (uint16/32/64 of the same shape)."""
    a = np.asarray(a)
    return np.ascontiguousarray(a).view(_UINT[a.dtype.itemsize])


def f32(text):
    """The float32 nearest to the decimal `text` (ties to even), as a C compiler reads `textf`.

    Rounding the decimal to float64 first and then to float32 could round twice; here the
    decision is made on the exact rational value.
    """
    exact = Fraction(text)
    c = np.float32(float(exact))
    cands = [np.nextafter(c, np.float32(-np.inf)), c, np.nextafter(c, np.float32(np.inf))]

    def key(v):
        return (abs(Fraction(float(v)) - exact), int(np.array(v).view(np.uint32)) & 1)

    return min(cands, key=key)


# ------------------------------------------------------------------------------------------
# The stream
# ------------------------------------------------------------------------------------------

def initial_state(rng):
    """numpy's PCG64 state dict a fill starts from (a Generator is only read, never advanced)."""
    if isinstance(rng, dict):
        return {"bit_generator": "PCG64", "state": dict(rng["state"]),
                "has_uint32": int(rng["has_uint32"]), "uinteger": int(rng["uinteger"])}
    if isinstance(rng, np.random.Generator):
        return initial_state(rng.bit_generator.state)
    if isinstance(rng, np.random.PCG64):
        return initial_state(rng.state)
    return initial_state(np.random.PCG64(rng).state)


def _bitgen_at(state, draw):
    bg = np.random.PCG64()
    bg.state = {"bit_generator": "PCG64", "state": dict(state["state"]),
                "has_uint32": 0, "uinteger": 0}
    if draw:
        bg.advance(int(draw))
    return bg


def draws64(state, start, n):
    """64-bit draws start, ..., start + n - 1 of the stream (the buffered half plays no part)."""
    return _bitgen_at(state, start).random_raw(int(n)).astype(np.uint64)


def words32(state, start, n):
    """32-bit words start, ..., start + n - 1 in numpy's next_uint32 order."""
    start, n = int(start), int(n)
    parts = []
    fresh = start
    if state["has_uint32"]:
        # word 0 is the buffered upper half; the fresh stream is shifted by one word
        if start == 0:
            if n > 0:
                parts.append(np.array([state["uinteger"]], dtype=np.uint32))
                n -= 1
        else:
            fresh = start - 1
    if n > 0:
        d0 = fresh // 2
        d1 = (fresh + n + 1) // 2
        raw = draws64(state, d0, d1 - d0)
        split = np.empty(2 * raw.size, dtype=np.uint32)
        split[0::2] = (raw & _M32).astype(np.uint32)      # low half first
        split[1::2] = (raw >> np.uint64(32)).astype(np.uint32)
        off = fresh - 2 * d0
        parts.append(split[off:off + n])
    if not parts:
        return np.empty(0, dtype=np.uint32)
    return np.concatenate(parts)


def state_after(state, word32, n):
    """numpy's PCG64 state after n 32-bit words (word32) or n 64-bit draws from `state`."""
    state = initial_state(state)
    n = int(n)
    if n == 0:
        return state
    if not word32:
        bg = _bitgen_at(state, n)
        new = bg.state
        new["has_uint32"], new["uinteger"] = state["has_uint32"], state["uinteger"]
        return new
    uinteger = state["uinteger"]
    fresh = n - 1 if state["has_uint32"] else n
    ndraws = (fresh + 1) // 2
    if ndraws:
        # numpy stores the upper half of every fresh draw in uinteger, handed out or not
        uinteger = int(draws64(state, ndraws - 1, 1)[0] >> np.uint64(32))
    new = _bitgen_at(state, ndraws).state
    new["has_uint32"] = fresh % 2
    new["uinteger"] = uinteger
    return new


# ------------------------------------------------------------------------------------------
# Addressing: which global flat index each element of a block has
# ------------------------------------------------------------------------------------------

def c_strides(shape):
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(int(n), 1)
    return tuple(reversed(out))


def block_indices(global_shape, index=None):
    """Global C-order flat index of every element of block `index` of a `global_shape` tensor,
    as an int64 array of the block's shape (basic indexing with slices and ints)."""
    global_shape = tuple(int(s) for s in global_shape)
    if index is None:
        index = ()
    if not isinstance(index, tuple):
        index = (index,)
    index = index + (slice(None),) * (len(global_shape) - len(index))
    flat = np.zeros((), dtype=np.int64)
    for ix, n, cs in zip(index, global_shape, c_strides(global_shape)):
        if isinstance(ix, slice):
            r = np.arange(*ix.indices(n), dtype=np.int64)
            flat = flat[..., None] + r * cs
        else:
            i = int(ix)
            flat = flat + (i % n) * cs
    return flat


def words_at(state, flat, word32):
    """The stream word (32-bit) or draw (64-bit) of each global flat index in `flat`."""
    flat = np.asarray(flat, dtype=np.int64)
    dt = np.uint32 if word32 else np.uint64
    out = np.empty(flat.shape, dtype=dt)
    if flat.size == 0:
        return out
    f = flat.ravel()
    uniq = np.unique(f)
    # generate each cluster of nearby indices as one contiguous run
    breaks = np.nonzero(np.diff(uniq) > 4096)[0] + 1
    vals = np.empty(uniq.size, dtype=dt)
    for lo_i, hi_i in zip(np.r_[0, breaks], np.r_[breaks, uniq.size]):
        a, b = int(uniq[lo_i]), int(uniq[hi_i - 1])
        run = words32(state, a, b - a + 1) if word32 else draws64(state, a, b - a + 1)
        vals[lo_i:hi_i] = run[uniq[lo_i:hi_i] - a]
    out.ravel()[:] = vals[np.searchsorted(uniq, f)]
    return out


# ------------------------------------------------------------------------------------------
# Representable bounds in the output dtype
# ------------------------------------------------------------------------------------------

def _step(v, dt, up):
    with np.errstate(over="ignore"):
        return np.nextafter(v, np.array(np.inf if up else -np.inf, dtype=dt))


def _cast(x, dt):
    with np.errstate(over="ignore"):
        return np.array(x, dtype=np.float64).astype(dt)


def dtype_ceil(x, dtype):
    """Smallest value of dtype that is >= x (as a float64)."""
    dt = as_dtype(dtype)
    v = _cast(x, dt)
    while float(v) < x:
        v = _step(v, dt, True)
    while float(_step(v, dt, False)) >= x:
        v = _step(v, dt, False)
    return float(v)


def dtype_floor(x, dtype):
    """Largest value of dtype that is <= x."""
    return -dtype_ceil(-x, dtype)


def dtype_below(x, dtype):
    """Largest value of dtype that is < x."""
    dt = as_dtype(dtype)
    v = _cast(x, dt)
    while float(v) >= x:
        v = _step(v, dt, False)
    while float(_step(v, dt, True)) < x:
        v = _step(v, dt, True)
    return float(v)


# ------------------------------------------------------------------------------------------
# Transforms
# ------------------------------------------------------------------------------------------

def uniform_values(words, low, high, dtype):
    """uniform: float32 for 16/32-bit outputs, float64 for float64 (numpy's conversions)."""
    dt = as_dtype(dtype)
    low, high = float(low), float(high)
    lo, hi = dtype_ceil(low, dt), dtype_below(high, dt)
    if dt == np.float64:
        u = (words >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
        v = low + (high - low) * u
        v = np.where(v < lo, lo, v)
        return np.where(v > hi, hi, v)
    F = np.float32
    u = (words >> np.uint32(8)).astype(np.int32).astype(F) * F(2.0 ** -24)
    if abs(high - low) <= FLT_MAX:
        v = F(low) + F(high - low) * u
    else:
        # float32(high - low) would overflow: halve both terms, double the sum (both exact)
        v = (F(low / 2) + F((high - low) / 2) * u) * F(2)
    v = np.where(v < F(lo), F(lo), v)
    v = np.where(v > F(hi), F(hi), v)
    return round_to(v, dt)


def round_to(v32, dt):
    """float32 -> output dtype, round to nearest even (numpy / ml_dtypes casts)."""
    dt = as_dtype(dt)
    if dt == np.float32:
        return v32
    return v32.astype(dt)


def phi(x):
    """Standard normal CDF, accurate in the lower tail."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


TAIL_SCALE_BELOW = 2.0 ** -60   # intervals with less mass than this use rescaled probabilities
FAR_AWAY = 1e30                  # the probability of the tail that is never the smaller one


def normal_constants(lower, upper):
    """(pa, qb, d, cq, cmax, log_off) of src/kernel_body.h for bounds l, h in std units:
    pa = Phi(l), qb = 1 - Phi(h), d = Phi(h) - Phi(l), cq = pa + d/2 - 1/2, cmax = 0.425, and for
    an interval with less than 2^-60 of mass in one tail, probabilities divided by a power of
    two S = 2^floor(log2 mass) with log_off = log S (cmax = -1: always the tail branch)."""
    l, h = float(lower), float(upper)
    pa, qb = phi(l), phi(-h)
    if l >= 0:
        d = phi(-l) - qb
    elif h <= 0:
        d = phi(h) - pa
    else:
        d = 1.0 - pa - qb
    cq, cmax, log_off = pa + 0.5 * d - 0.5, 0.425, 0.0
    mass = phi(h) if h <= 0 else (phi(-l) if l >= 0 else 1.0)
    if mass < TAIL_SCALE_BELOW:
        s = 2.0 ** math.floor(math.log2(mass))
        log_off = math.log(s)
        cq, cmax = 0.0, -1.0
        if h <= 0:
            pa, d, qb = pa / s, d / s, FAR_AWAY
        else:
            qb, d, pa = qb / s, d / s, FAR_AWAY
    return pa, qb, d, cq, cmax, log_off


def dtype_nearest(x, dtype):
    """The value of dtype nearest to x, ties to even, overflowing to +-inf as IEEE rounding
    does (at max + ulp(max)/2 and beyond)."""
    dt = as_dtype(dtype)
    x = float(x)
    if dt == np.float64 or not math.isfinite(x):
        return x
    mx = _cast(np.inf, dt)
    mx = _step(mx, dt, False)                               # largest finite value
    half_ulp = (Fraction(float(mx)) - Fraction(float(_step(mx, dt, False)))) / 2
    if abs(Fraction(x)) >= Fraction(float(mx)) + half_ulp:
        return math.copysign(math.inf, x)
    c, f = dtype_ceil(x, dt), dtype_floor(x, dt)
    if c == f or math.isinf(f):
        return c
    if math.isinf(c):
        return f
    dc, df = Fraction(c) - Fraction(x), Fraction(x) - Fraction(f)
    if dc != df:
        return c if dc < df else f
    return c if int(bits(_cast(c, dt)).ravel()[0]) % 2 == 0 else f


def normal_bounds(mean, std, lower, upper, dtype):
    """Clamp bounds [lo, hi]: the dtype's values inside [mean + std*lower, mean + std*upper];
    with std = 0 both are the dtype's value nearest to the mean (a point mass)."""
    if std == 0:
        m = dtype_nearest(mean, dtype)
        return m, m
    a = mean + std * lower if lower > -math.inf else -math.inf
    b = mean + std * upper if upper < math.inf else math.inf
    lo = dtype_ceil(a, dtype) if a > -math.inf else -math.inf
    hi = dtype_floor(b, dtype) if b < math.inf else math.inf
    return lo, hi


# AS 241 (Wichura 1988) coefficients, highest degree first
PPND7_A = ("59.109374720", "159.29113202", "50.434271938", "3.3871327179")
PPND7_B = ("67.187563600", "78.757757664", "17.895169469", "1.0")
PPND7_C = ("0.17023821103", "1.3067284816", "2.7568153900", "1.4234372777")   # near tail
PPND7_D = ("0.12021132975", "0.73700164250", "1.0")
PPND7_E = ("0.017337203997", "0.42868294337", "3.0812263860", "6.6579051150")  # far tail
PPND7_F = ("0.012258202635", "0.24197894225", "1.0")

PPND16_A = (2.5090809287301226727e+03, 3.3430575583588128105e+04, 6.7265770927008700853e+04,
            4.5921953931549871457e+04, 1.3731693765509461125e+04, 1.9715909503065514427e+03,
            1.3314166789178437745e+02, 3.3871328727963666080e+00)
PPND16_B = (5.2264952788528545610e+03, 2.8729085735721942674e+04, 3.9307895800092710610e+04,
            2.1213794301586595867e+04, 5.3941960214247511077e+03, 6.8718700749205790830e+02,
            4.2313330701600911252e+01, 1.0)
PPND16_C = (7.74545014278341407640e-04, 2.27238449892691845833e-02, 2.41780725177450611770e-01,
            1.27045825245236838258e+00, 3.64784832476320460504e+00, 5.76949722146069140550e+00,
            4.63033784615654529590e+00, 1.42343711074968357734e+00)
PPND16_D = (1.05075007164441684324e-09, 5.47593808499534494600e-04, 1.51986665636164571966e-02,
            1.48103976427480074590e-01, 6.89767334985100004550e-01, 1.67638483018380384940e+00,
            2.05319162663775882187e+00, 1.0)
PPND16_E = (2.01033439929228813265e-07, 2.71155556874348757815e-05, 1.24266094738807843860e-03,
            2.65321895265761230930e-02, 2.96560571828504891230e-01, 1.78482653991729133580e+00,
            5.46378491116411436990e+00, 6.65790464350110377720e+00)
PPND16_F = (2.04426310338993978564e-15, 1.42151175831644588870e-07, 1.84631831751005468180e-05,
            7.86869131145613259100e-04, 1.48753612908506148525e-02, 1.36929880922735805310e-01,
            5.99832206555887937690e-01, 1.0)


def _horner(x, coefs):
    acc = coefs[0]
    for c in coefs[1:]:
        acc = acc * x + c
    return acc


def log_f32(x):
    """fi_log_f: log of positive normal float32 numbers, x = 2^k m, m in [sqrt(1/2), sqrt(2))."""
    F = np.float32
    b = x.view(np.int32).astype(np.int64)
    k = (b - 0x3F3504F3) >> 23
    m = ((b - (k << 23)) & 0xFFFFFFFF).astype(np.uint32).view(F)
    f = m - F(1)
    s = f / (F(2) + f)
    z = s * s
    p = ((F(2) / F(9)) * z + F(2) / F(7)) * z + F(2) / F(5)
    p = p * z + F(2) / F(3)
    ls = s * F(2) + s * (z * p)
    kf = k.astype(F)
    return kf * F(0.693145751953125) + (ls + kf * f32("1.4286068202862268e-06"))


def log_f64(x):
    """fi_log_d, the float64 twin of log_f32 (9 terms of the atanh series)."""
    b = x.view(np.int64)
    k = (b - 0x3FE6A09E667F3BCD) >> 52
    m = (b - (k << 52)).view(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    p = 2.0 / 19.0
    for den in (17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0):
        p = p * z + 2.0 / den
    ls = s * 2.0 + s * (z * p)
    kd = k.astype(np.float64)
    return kd * 6.93147180369123816490e-01 + (ls + kd * 1.90821492927058770002e-10)


def _select(far, c_far, c_near, T):
    return np.where(far, T(c_far), T(c_near))


def _half_up(x, T):
    """x + 1/2 for signed integers x, rounded once to T: the low 8 bits are split off so that
    both parts convert exactly (HALF_UP in src/kernel_body.h)."""
    hi = (x & ~np.asarray(0xFF, x.dtype)).astype(T)
    lo = (x & np.asarray(0xFF, x.dtype)).astype(T)
    return hi + (lo + T(0.5))


def _normal_core(upper, m, qk, consts, mean, std, lo, hi, T, scale_b,
                 log, coefs):
    """The operation sequence of fi_normal_* in precision T (np.float32 or np.float64)."""
    pa, qb, d, cq, cmax, log_off = (T(c) for c in consts)
    A, B, C, D, E, F_ = coefs
    small = _half_up(m, T) * T(scale_b)
    big = T(1) - small
    u = np.where(upper, big, small)
    v = np.where(upper, small, big)
    qu = _half_up(qk, T) * T(scale_b)
    q = cq + qu * d
    plo = pa + u * d
    pup = qb + v * d
    neg = plo < pup
    t = np.where(neg, plo, pup)
    # central branch
    r = T(0.180625 if T is np.float64 else f32("0.180625")) - q * q
    za = _horner(r, A)
    zb = _horner(r, B)
    zc = q * za / zb
    # tail branches share one evaluation with per-element coefficients
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # (the C code takes the log of whatever t is; only t > 0 can be selected)
        log_t = np.where(t > 0, log(np.where(t > 0, t, T(1))), T(np.nan))
        rr = np.sqrt(-(log_t + log_off))
    far = rr > T(5)
    x = rr - np.where(far, T(5), T(1.6 if T is np.float64 else f32("1.6")))
    num = _horner(x, [_select(far, e, c, T) for e, c in zip(E, C)])
    den = _horner(x, [_select(far, f_, d_, T) for f_, d_ in zip(F_, D)])
    zt = num / den
    zt = np.where(neg, -zt, zt)
    aq = np.where(q < T(0), -q, q)
    z = np.where(aq <= cmax, zc, zt)
    val = T(mean) + T(std) * z
    val = np.where(val < T(lo), T(lo), val)
    return np.where(val > T(hi), T(hi), val)


def normal_values(words, mean, std, lower, upper, dtype):
    """(truncated) normal by inversion, as src/kernel_body.h computes it."""
    dt = as_dtype(dtype)
    mean, std, lower, upper = float(mean), float(std), float(lower), float(upper)
    consts = normal_constants(lower, upper)
    lo, hi = normal_bounds(mean, std, lower, upper, dt)
    if dt == np.float64:
        k = words >> np.uint64(12)                      # 52-bit integer
        kc = np.uint64(2 ** 52 - 1) - k
        upper_half = k > np.uint64(2 ** 51 - 1)
        m = np.where(upper_half, kc, k).astype(np.int64)
        qk = k.astype(np.int64) - 2 ** 51
        coefs = (PPND16_A, PPND16_B, PPND16_C, PPND16_D, PPND16_E, PPND16_F)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return _normal_core(upper_half, m, qk, consts, mean, std, lo, hi,
                                np.float64, 2.0 ** -52, log_f64, coefs)
    k = words.astype(np.uint32)
    kc = np.uint32(0xFFFFFFFF) - k
    upper_half = k > np.uint32(0x7FFFFFFF)
    # int32 -> float32 conversions round to nearest even, as C's (float)(int32_t) does
    m = np.where(upper_half, kc, k).astype(np.int32)
    qk = (k - np.uint32(0x80000000)).view(np.int32)
    coefs = tuple(tuple(f32(c) for c in tab)
                  for tab in (PPND7_A, PPND7_B, PPND7_C, PPND7_D, PPND7_E, PPND7_F))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        v = _normal_core(upper_half, m, qk, consts, mean, std, lo, hi,
                         np.float32, 2.0 ** -32, log_f32, coefs)
    return round_to(v, dt)


# ------------------------------------------------------------------------------------------
# Whole fills
# ------------------------------------------------------------------------------------------

SAMPLERS = ("random", "uniform", "normal", "truncated_normal")


def transform(sampler, words, dtype, **params):
    if sampler == "random":
        return uniform_values(words, 0.0, 1.0, dtype)
    if sampler == "uniform":
        return uniform_values(words, params.get("low", 0.0), params.get("high", 1.0), dtype)
    if sampler == "normal":
        return normal_values(words, params.get("mean", 0.0), params.get("std", 1.0),
                             -math.inf, math.inf, dtype)
    if sampler == "truncated_normal":
        return normal_values(words, params.get("mean", 0.0), params.get("std", 1.0),
                             params.get("lower", -2.0), params.get("upper", 2.0), dtype)
    raise ValueError(sampler)


def sample(sampler, shape=None, *, dtype="float32", rng=0, global_shape=None, index=None,
           **params):
    """The values fastinit must produce, and the Generator state it must leave.

    Returns (values, state_after); values has the output dtype (bfloat16 as ml_dtypes) and the
    block's shape. state_after is None for block fills (global_shape given), which read the
    stream without consuming it.
    """
    dt = as_dtype(dtype)
    word32 = dt != np.float64
    state = initial_state(rng)
    if global_shape is None:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        flat = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
        after = state_after(state, word32, flat.size)
    else:
        flat = block_indices(global_shape, index)
        after = None
    words = words_at(state, flat, word32)
    values = transform(sampler, words.ravel(), dt, **params).reshape(flat.shape)
    return values.astype(dt, copy=False), after


# ------------------------------------------------------------------------------------------
# Streams that start with chosen words (to probe the transforms at any input)
# ------------------------------------------------------------------------------------------

PCG_MULT = (0x2360ED051FC65DA4 << 64) | 0x4385DF649FCCF645
_M128 = (1 << 128) - 1


def state_with_first_draw(draw, inc=0xDA3E39CB94B95BDB, hi=0x0123456789ABCDEF):
    """A numpy PCG64 state dict whose first 64-bit draw is `draw`.

    numpy steps s -> s*M + inc and outputs XSL-RR of the new state: the 64-bit xor of its two
    halves rotated right by its top 6 bits. With those bits zero the output is hi ^ lo, so the
    stepped state (hi, hi ^ draw) produces `draw`; the stored state is one step before it.
    """
    hi &= (1 << 58) - 1                       # top 6 bits zero: no rotation
    s1 = (hi << 64) | (hi ^ int(draw))
    inc |= 1
    s0 = ((s1 - inc) * pow(PCG_MULT, -1, 1 << 128)) & _M128
    return {"bit_generator": "PCG64", "state": {"state": s0, "inc": inc},
            "has_uint32": 0, "uinteger": 0}


def generator_with_words(w0, w1=0):
    """A Generator whose first two 32-bit words (next_uint32 order) are w0, w1."""
    g = np.random.Generator(np.random.PCG64())
    g.bit_generator.state = state_with_first_draw((int(w1) << 32) | int(w0))
    return g


def generator_with_draw(d):
    """A Generator whose first 64-bit draw is d."""
    g = np.random.Generator(np.random.PCG64())
    g.bit_generator.state = state_with_first_draw(d)
    return g
