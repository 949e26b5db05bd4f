"""Issue item 3: distribution quality against scipy, transform accuracy against the exact
inverse CDF of the same u, and bounds that always hold.

Statistical tests use fixed seeds, so they are deterministic; each threshold is stated as the
probability that a *correct* sampler fails it on a fresh seed (its false-alarm rate).
"""

import math

import mpmath
import numpy as np
import pytest
from scipy import special, stats

import fastinit
import reference as ref
from conftest import DTYPE_NAMES, gen

INF = math.inf
# A correct sampler gives p < ALPHA on a fresh seed with probability ALPHA.
ALPHA = 1e-4
N_KS = 200_000

KS_CASES = [
    ("uniform", dict(low=-2.0, high=3.0), stats.uniform(-2.0, 5.0)),
    ("random", {}, stats.uniform(0.0, 1.0)),
    ("normal", dict(mean=1.0, std=2.0), stats.norm(1.0, 2.0)),
    ("normal", {}, stats.norm()),
    ("truncated_normal", dict(lower=-2.0, upper=2.0), stats.truncnorm(-2.0, 2.0)),
    ("truncated_normal", dict(mean=3.0, std=0.5, lower=-2.0, upper=2.0),
     stats.truncnorm(-2.0, 2.0, loc=3.0, scale=0.5)),
    ("truncated_normal", dict(lower=0.0, upper=INF), stats.truncnorm(0.0, INF)),
    ("truncated_normal", dict(lower=-INF, upper=0.0), stats.truncnorm(-INF, 0.0)),
    ("truncated_normal", dict(lower=-1.0, upper=3.0), stats.truncnorm(-1.0, 3.0)),
    ("truncated_normal", dict(lower=4.0, upper=6.0), stats.truncnorm(4.0, 6.0)),
    ("truncated_normal", dict(lower=-INF, upper=-5.0), stats.truncnorm(-INF, -5.0)),
    ("truncated_normal", dict(lower=10.0, upper=12.0), stats.truncnorm(10.0, 12.0)),
    ("truncated_normal", dict(lower=-40.0, upper=-30.0), stats.truncnorm(-40.0, -30.0)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sampler,params,dist", KS_CASES,
                         ids=[f"{s}-{p}" for s, p, _ in KS_CASES])
def test_kolmogorov_smirnov(sampler, params, dist, dtype):
    x = getattr(fastinit, sampler)(N_KS, dtype=dtype, rng=1234, **params)
    res = stats.kstest(x.astype(np.float64), dist.cdf)
    # false alarm ALPHA = 1e-4 per case
    assert res.pvalue > ALPHA, f"KS D={res.statistic:.5f}, p={res.pvalue:.2e}"


def test_kolmogorov_smirnov_on_a_consumed_generator_and_on_blocks():
    """The stream pieces a Generator hands out, and a far block of a huge virtual tensor, are
    distributed correctly too (false alarm 1e-4 each)."""
    g = gen(99, pre32=1)
    for _ in range(3):
        x = fastinit.normal(N_KS // 3, rng=g)
        assert stats.kstest(x.astype(np.float64), "norm").pvalue > ALPHA
    x = fastinit.normal(rng=7, global_shape=(2**40,), index=(slice(2**39, 2**39 + N_KS),))
    assert stats.kstest(x.astype(np.float64), "norm").pvalue > ALPHA


def test_normal_moments_large_sample():
    """4 10^6 float32 normals: |mean| and |std - 1| within 4.9 standard errors
    (two-sided false alarm about 1e-6 each)."""
    n = 4 * 10**6
    x = fastinit.normal(n, rng=2718).astype(np.float64)
    assert abs(x.mean()) < 4.9 / math.sqrt(n)
    # the sample variance has standard error sqrt(2/n) for normal data
    assert abs(x.var() - 1.0) < 4.9 * math.sqrt(2.0 / n)
    # odd moments vanish and the kurtosis is 3 (standard errors sqrt(15/n), sqrt(96/n))
    assert abs(np.mean(x**3)) < 4.9 * math.sqrt(15.0 / n)
    x2 = x * x
    assert abs(np.mean(x2 * x2) - 3.0) < 4.9 * math.sqrt(96.0 / n)


@pytest.mark.parametrize("dtype,n", [("float32", 10**8), ("float64", 4 * 10**7)])
def test_normal_tail_frequencies(dtype, n):
    """Counts beyond 4 and 5 std (each side, and both) against the binomial law
    (two-sided exact binomial test, false alarm 1e-4 per count)."""
    chunk = 10**7
    counts = {"<-4": 0, ">4": 0, "|z|>4": 0, "<-5": 0, ">5": 0, "|z|>5": 0}
    for start in range(0, n, chunk):
        x = fastinit.normal(dtype=dtype, rng=31, global_shape=(n,),
                            index=(slice(start, start + chunk),))
        for t in (4, 5):
            lo, hi = np.count_nonzero(x < -t), np.count_nonzero(x > t)
            counts[f"<-{t}"] += lo
            counts[f">{t}"] += hi
            counts[f"|z|>{t}"] += lo + hi
    for key, k in counts.items():
        t = float(key[-1])
        p = special.ndtr(-t) * (2 if key.startswith("|") else 1)
        res = stats.binomtest(k, n, p)
        assert res.pvalue > ALPHA, f"{key}: {k} of {n}, expected {n * p:.1f}, p={res.pvalue:.2e}"


# ------------------------------------------------------------------------------------------
# Accuracy of the inverse CDF, against the exact Phi^-1 of the same u
# ------------------------------------------------------------------------------------------

def ulp32(x):
    """Spacing of float32 numbers at |x| (x as float64)."""
    return np.spacing(np.abs(np.asarray(x)).astype(np.float32)).astype(np.float64)


def u32(words):
    return (words.astype(np.float64) + 0.5) * 2.0**-32        # exact in float64


def u52(draws):
    return ((draws >> np.uint64(12)).astype(np.float64) + 0.5) * 2.0**-52   # exact


def mp_ndtri(u):
    with mpmath.workdps(40):
        return float(mpmath.sqrt(2) * mpmath.erfinv(2 * mpmath.mpf(float(u)) - 1))


# Measured on 2^22 stream words (seed 77): 5.29 ulp at z = 0.2435 (the bound is on the
# documented 6.5 ulp; see test_float32_normal_worst_words for the words that come closest).
F32_NORMAL_MAX_ULP = 6.0


def test_float32_normal_accuracy_on_the_stream():
    n = 1 << 22
    got = fastinit.normal(n, rng=77).astype(np.float64)
    exact = special.ndtri(u32(ref.words32(ref.initial_state(77), 0, n)))
    err = np.abs(got - exact) / ulp32(exact)
    assert err.max() <= F32_NORMAL_MAX_ULP, f"max {err.max():.3f} ulp at z={exact[err.argmax()]}"
    assert err.mean() < 1.0        # measured 0.87


# Words of both tails and of the centre, put at the head of a stream built for the purpose.
SPECIAL_WORDS = [0, 1, 2, 3, 0xFF, 0xFFF, 0x1000, 0xFFFFFF, 0x1000000, 0x1000001, 0x7FFFFFFE,
                 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFEFFFFFF, 0xFF000000, 0xFFFFFFFC,
                 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF, 0x12345678, 0x9ABCDEF0, 0x13000000,
                 0x12E00000, 0xED200000]


def test_float32_normal_accuracy_at_extreme_words():
    """u = (k + 1/2) 2^-32 from k = 0 (z = -6.3613) to k = 2^32 - 1 (z = +6.3613), the central
    split and the precision steps of the int -> float conversion."""
    for w in SPECIAL_WORDS:
        g = ref.generator_with_words(w)
        got = float(fastinit.normal(1, rng=g)[0])
        exact = float(special.ndtri(u32(np.array([w], np.uint64)))[0])
        err = abs(got - exact) / ulp32(exact)
        assert err <= 4.0, f"word {w:#x}: got {got!r}, exact {exact!r} ({err:.2f} ulp)"
    # in the tails (min(u, 1-u) formed from min(k, ~k)) word k and its complement give
    # opposite values
    for w in [w for w in SPECIAL_WORDS if min(w, 0xFFFFFFFF - w) < 1 << 24]:
        a = fastinit.normal(1, rng=ref.generator_with_words(w))[0]
        b = fastinit.normal(1, rng=ref.generator_with_words(0xFFFFFFFF - w))[0]
        assert a == -b, f"word {w:#x}: {a!r} vs {b!r}"


def test_float32_normal_worst_words():
    """The documented accuracy (samplers.normal: "PPND7 evaluated in float32 (within 6.5
    float32 ulp)") at the words where a scan of the reference model (bit-identical to the
    engine) over the central branch found the largest errors: up to 6.13 ulp around z = +-0.242 and
    +-0.246 (27 words above 5.9 ulp in [0x60000000, 0x70000000) and [0x90000000, 0xA0000000);
    no other region came close in a 1/7 sample of all 2^32 words)."""
    worst = [0x9877DE10, 0x98E891EF, 0x9877DE0F, 0x678821F0, 0x67176E11]
    for w in worst:
        got = float(fastinit.normal(1, rng=ref.generator_with_words(w))[0])
        exact = float(special.ndtri(u32(np.array([w], np.uint64)))[0])
        err = abs(got - exact) / ulp32(exact)
        assert err <= 6.5, f"word {w:#x}: got {got!r}, exact {exact!r}: {err:.3f} ulp > 6.5"


def test_float64_normal_accuracy_on_the_stream():
    n = 1 << 21
    got = fastinit.normal(n, dtype="float64", rng=77)
    u = u52(ref.draws64(ref.initial_state(77), 0, n))
    exact = special.ndtri(u)
    rel = np.abs(got - exact) / np.abs(exact)
    # measured 1.07e-15 against scipy's ndtri, whose own error is up to ~1e-15
    assert rel.max() < 2e-15, f"max rel {rel.max():.3g} at z={exact[rel.argmax()]}"
    # the worst 100 against 40-digit mpmath: measured 6.6e-16
    worst = np.argsort(-rel)[:100]
    exact_mp = np.array([mp_ndtri(x) for x in u[worst]])
    rel_mp = np.abs(got[worst] - exact_mp) / np.abs(exact_mp)
    assert rel_mp.max() < 1e-15, f"max rel vs mpmath {rel_mp.max():.3g}"


DRAWS_SPECIAL = [0, 1 << 12, 2 << 12, (1 << 32) - 1, 1 << 40, (1 << 63) - 1, 1 << 63,
                 (1 << 63) + (1 << 12), 2**64 - 1, 2**64 - (1 << 12) - 1, 2**64 - (1 << 44),
                 0x0123456789ABCDEF, 0xFEDCBA9876543210, 0x1300000000000000]


def test_float64_normal_accuracy_at_extreme_draws():
    """k = r >> 12 from 0 (u = 2^-53, z = -8.2924, AS 241's far-tail branch) to 2^52 - 1,
    against 40-digit mpmath."""
    for d in DRAWS_SPECIAL:
        got = float(fastinit.normal(1, dtype="float64", rng=ref.generator_with_draw(d))[0])
        u = float(u52(np.array([d], np.uint64))[0])
        exact = mp_ndtri(u)
        assert abs(got - exact) <= 2e-15 * abs(exact), f"draw {d:#x}: {got!r} vs {exact!r}"


def exact_truncated(u, lower, upper):
    """Phi^-1(Phi(l) + u (Phi(h) - Phi(l))) to about 1e-15, from the exact u, in log space
    (scipy's log_ndtr / ndtri_exp) so that far tails keep their precision."""
    u = np.asarray(u, np.float64)

    def lower_side(u, l, h):
        # P(Z < z) = Phi(h) (u + (1 - u) Phi(l) / Phi(h)): no cancellation in the bracket
        lh = special.log_ndtr(h)
        ll = special.log_ndtr(l) if l > -INF else -INF
        with np.errstate(divide="ignore"):
            return special.ndtri_exp(lh + np.log(u + (1.0 - u) * np.exp(ll - lh)))

    if upper <= 0:
        return lower_side(u, lower, upper)
    if lower >= 0:
        return -lower_side(1.0 - u, -upper, -lower)
    pa, qb = special.ndtr(lower), special.ndtr(-upper)
    d = 1.0 - pa - qb
    plo, pup = pa + u * d, qb + (1.0 - u) * d
    return np.where(plo < pup, special.ndtri(plo), -special.ndtri(pup))


TRUNC_INTERVALS = [(-2.0, 2.0), (0.0, INF), (-INF, 0.0), (-1.0, 3.0), (-3.0, INF),
                   (-INF, 1.5), (0.5, 0.6), (-0.01, 0.01), (4.0, 6.0), (-6.0, -4.0),
                   (-INF, -5.0), (5.0, INF), (8.5, 8.6), (-INF, -9.0), (10.0, 12.0),
                   (-INF, -20.0), (-40.0, -30.0), (30.0, 37.0)]


@pytest.mark.parametrize("lower,upper", TRUNC_INTERVALS, ids=str)
def test_truncated_normal_accuracy(lower, upper):
    """Measured on 2^20 words (seed 5): float32 at most 6.13 ulp plus, where the interval is
    not centred on 0, an absolute error near z = 0 of up to 19 * 2^-24 (q = cq + (u - 1/2) d
    cancels; e.g. [0, inf] at z ~ 1e-6); float64 at most 2.6e-15 relative for |z| > 0.1 and
    24 * 2^-53 absolute near 0. The bounds pinned here add a little margin."""
    n = 1 << 20
    st = ref.initial_state(5)
    got = fastinit.truncated_normal(n, lower=lower, upper=upper, rng=5).astype(np.float64)
    exact = exact_truncated(u32(ref.words32(st, 0, n)), lower, upper)
    tol = 7.0 * ulp32(exact) + 24 * 2.0**-24
    bad = np.abs(got - exact) > tol
    assert not bad.any(), (f"{bad.sum()} values off; worst at z={exact[bad][0]!r}: "
                           f"got {got[bad][0]!r}")
    # far from 0 (the tails included) the error is a few ulp
    far = np.abs(exact) > 0.5
    assert np.all(np.abs(got - exact)[far] <= 7.0 * ulp32(exact[far]))
    got = fastinit.truncated_normal(n, lower=lower, upper=upper, rng=5, dtype="float64")
    exact = exact_truncated(u52(ref.draws64(st, 0, n)), lower, upper)
    tol = 4e-15 * np.abs(exact) + 32 * 2.0**-53
    bad = np.abs(got - exact) > tol
    assert not bad.any(), (f"float64: {bad.sum()} values off; worst at z={exact[bad][0]!r}: "
                           f"got {got[bad][0]!r}")


# ------------------------------------------------------------------------------------------
# Bounds hold after rounding to the dtype
# ------------------------------------------------------------------------------------------

BOUND_CASES = [
    dict(mean=0.0, std=1.0, lower=-2.0, upper=2.0),
    dict(mean=0.1, std=0.3, lower=-1.7, upper=2.3),          # bounds 0.1-0.51, 0.1+0.69
    dict(mean=0.0, std=0.02, lower=-2.0, upper=2.0),          # the classic 0.02 init
    dict(mean=1.0, std=1e-3, lower=-1.9, upper=1.9),          # few bfloat16 values inside
    dict(mean=-3.3, std=0.7, lower=-INF, upper=0.123),
    dict(mean=2.0, std=3.0, lower=4.0, upper=6.0),
    dict(mean=0.0, std=1.0, lower=-40.0, upper=-30.0),
    dict(mean=0.0, std=1.0, lower=8.5, upper=8.6),
    dict(mean=0.0, std=1000.0, lower=-0.001, upper=0.0011),
]


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("params", BOUND_CASES, ids=str)
def test_truncated_values_never_outside_bounds(params, dtype):
    x = fastinit.truncated_normal(300_000, dtype=dtype, rng=3, **params).astype(np.float64)
    a = params["mean"] + params["std"] * params["lower"]
    b = params["mean"] + params["std"] * params["upper"]
    assert np.all(np.isfinite(x))
    assert x.min() >= a, f"min {x.min()!r} < lower bound {a!r}"
    assert x.max() <= b, f"max {x.max()!r} > upper bound {b!r}"


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (0.1, 0.2), (-1.0, 1.0 / 3.0), (1.0, 1.01),
                                      (-5e-5, 5e-5), (100.0, 100.5)])
def test_uniform_values_in_half_open_interval(low, high, dtype):
    x = fastinit.uniform(300_000, low, high, dtype=dtype, rng=4).astype(np.float64)
    assert x.min() >= low and x.max() < high
    if dtype in ("float32", "float64"):
        # values reach into the last tenth of the interval
        assert x.max() > high - 0.1 * (high - low)
