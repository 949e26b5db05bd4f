"""The reference model (tests/reference.py): first checked against numpy itself, then used as
the oracle for fastinit across samplers, dtypes, shapes, parameters and rng kinds."""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import special

import fastinit
import reference as ref
from conftest import DTYPE_NAMES, PARAMS, SAMPLERS, assert_same_bits, clone, gen, sampler_fn

# ------------------------------------------------------------------------------------------
# The model against numpy
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pre32", [0, 1, 2, 5])
@pytest.mark.parametrize("start,n", [(0, 0), (0, 1), (0, 2), (0, 9), (1, 8), (3, 5), (4, 1000)])
def test_model_words32_are_numpys_next_uint32(pre32, start, n):
    g = gen(11, pre32=pre32, pre64=1)
    # integers over the full uint32 range return next_uint32 itself (no rejection, no masking)
    want = clone(g).integers(0, 2**32, size=start + n, dtype=np.uint32)[start:]
    got = ref.words32(g.bit_generator.state, start, n)
    assert got.dtype == np.uint32
    assert np.array_equal(got, want)


@pytest.mark.parametrize("pre32", [0, 1, 2, 3])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7, 10])
def test_model_state_after_matches_numpy(pre32, n):
    g = gen(12, pre32=pre32)
    h = clone(g)
    h.random(n, dtype=np.float32)
    assert ref.state_after(g.bit_generator.state, True, n) == h.bit_generator.state
    h = clone(g)
    h.random(n)
    assert ref.state_after(g.bit_generator.state, False, n) == h.bit_generator.state


def test_model_draws64_and_uniform_are_numpys():
    g = gen(13, pre32=3)
    st = g.bit_generator.state
    d = ref.draws64(st, 5, 100)
    assert np.array_equal(d, clone(g).bit_generator.random_raw(105)[5:])
    w = ref.words32(st, 0, 1001)
    assert np.array_equal(ref.uniform_values(w, 0.0, 1.0, "float32"),
                          clone(g).random(1001, dtype=np.float32))
    assert np.array_equal(ref.uniform_values(ref.draws64(st, 0, 1001), 0.0, 1.0, "float64"),
                          clone(g).random(1001))


@pytest.mark.parametrize("gshape,index", [
    ((10,), (slice(2, 7),)),
    ((10,), (slice(1, None, 3),)),
    ((6, 7), (slice(1, 5), slice(2, 7, 2))),
    ((6, 7), (3,)),
    ((6, 7), (-1, slice(None, None, 4))),
    ((3, 4, 5), (slice(None), 2)),
    ((2, 3, 4, 5), (1, slice(0, 3, 2), slice(1, 2))),
    ((4, 5), (slice(3, 3),)),
    ((), ()),
])
def test_model_block_indices_are_numpy_indexing(gshape, index):
    full = np.arange(math.prod(gshape), dtype=np.int64).reshape(gshape)
    want = full[index]
    got = ref.block_indices(gshape, index)
    assert got.shape == want.shape and np.array_equal(got, want)


def test_model_words_at_matches_contiguous_words():
    st = gen(14, pre32=1).bit_generator.state
    idx = np.array([[0, 5, 1], [9000, 3, 123456]])
    full = ref.words32(st, 0, 123457)
    assert np.array_equal(ref.words_at(st, idx, True), full[idx])
    full64 = ref.draws64(st, 0, 123457)
    assert np.array_equal(ref.words_at(st, idx, False), full64[idx])


def test_model_float32_constants_round_correctly():
    for text in ref.PPND7_A + ref.PPND7_B + ref.PPND7_C + ref.PPND7_E + ("1.6", "0.180625"):
        c = ref.f32(text)
        exact = Fraction(text)
        below = np.nextafter(c, np.float32(-np.inf))
        above = np.nextafter(c, np.float32(np.inf))
        err = abs(Fraction(float(c)) - exact)
        assert err <= abs(Fraction(float(below)) - exact)
        assert err <= abs(Fraction(float(above)) - exact)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_model_dtype_bounds_by_brute_force(dtype):
    dt = ref.as_dtype(dtype)
    with np.errstate(invalid="ignore"):
        allv = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(dt).astype(np.float64)
    allv = np.unique(allv[np.isfinite(allv)])
    rs = np.random.default_rng(0)
    xs = np.concatenate([rs.uniform(-70000, 70000, 200), rs.normal(0, 1e-3, 200),
                         allv[rs.integers(0, allv.size, 100)], [0.1, -0.1, 1.0, 2.0 / 3.0]])
    for x in xs:
        assert ref.dtype_ceil(x, dt) == (allv[allv >= x].min() if (allv >= x).any() else np.inf)
        assert ref.dtype_floor(x, dt) == (allv[allv <= x].max() if (allv <= x).any() else -np.inf)
        assert ref.dtype_below(x, dt) == (allv[allv < x].max() if (allv < x).any() else -np.inf)
    # nearest (ties to even) against numpy's own float64 -> float16 cast, which rounds once
    if dtype == "float16":
        mids = (allv[:-1] + np.diff(allv) / 2)[rs.integers(0, allv.size - 1, 1000)]   # ties
        for x in np.concatenate([xs, mids, [65519.99, 65520.0, 7e4, -65520.0]]):
            with np.errstate(over="ignore"):
                want = float(np.array(x).astype(np.float16))
            assert ref.dtype_nearest(x, dt) == want, x
    else:
        assert ref.dtype_nearest(1.00390625, dt) == 1.0               # tie: even is 1.0
        assert ref.dtype_nearest(1.01171875, dt) == 1.015625          # tie: even is up
        assert ref.dtype_nearest(1.00390625 + 1e-12, dt) == 1.0078125  # just above the tie
        assert ref.dtype_nearest(3.4e38, dt) == math.inf


def test_model_normal_is_an_inverse_cdf():
    """The modelled transform is Phi^-1 of u = (k + 1/2) 2^-B (coarse check of the model's
    math; fastinit's accuracy is measured in test_distribution.py)."""
    st = gen(15).bit_generator.state
    w = ref.words32(st, 0, 20000)
    u = (w.astype(np.float64) + 0.5) * 2.0**-32
    z = ref.normal_values(w, 0.0, 1.0, -np.inf, np.inf, "float32").astype(np.float64)
    assert np.allclose(z, special.ndtri(u), rtol=1e-6, atol=1e-6)
    r = ref.draws64(st, 0, 20000)
    u = ((r >> np.uint64(12)).astype(np.float64) + 0.5) * 2.0**-52
    z = ref.normal_values(r, 0.0, 1.0, -np.inf, np.inf, "float64")
    assert np.allclose(z, special.ndtri(u), rtol=1e-13, atol=1e-15)


def test_model_log_approximations():
    x = np.geomspace(1e-37, 1e38, 5001).astype(np.float32)
    assert np.allclose(ref.log_f32(x), np.log(x.astype(np.float64)), rtol=3e-7, atol=1e-7)
    x = np.geomspace(1e-300, 1e300, 5001)
    assert np.allclose(ref.log_f64(x), np.log(x), rtol=1e-15, atol=1e-15)


# ------------------------------------------------------------------------------------------
# fastinit against the model
# ------------------------------------------------------------------------------------------

# Truncation intervals in std units, from central to far in either tail.
INTERVALS = [
    (-2.0, 2.0), (-1.0, 3.0), (0.0, math.inf), (-math.inf, 0.0), (-math.inf, 1.5),
    (0.5, 0.6), (-0.01, 0.01), (4.0, 6.0), (-6.0, -4.0), (-math.inf, -5.0), (5.0, math.inf),
    (10.0, 12.0), (-12.0, -10.0), (-40.0, -30.0), (30.0, 37.0), (-math.inf, -9.0),
    (-math.inf, -20.0), (8.5, 8.6), (-3.0, math.inf), (-math.inf, math.inf),
]

SHAPES = [(), (1,), (7,), (1000,), (33, 31), (3, 1, 4, 5)]


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fastinit_equals_model_shapes(sampler, dtype, shape):
    want, _ = ref.sample(sampler, shape, dtype=dtype, rng=2024, **PARAMS[sampler])
    got = sampler_fn(sampler)(shape, dtype=dtype, rng=2024, **PARAMS[sampler])
    assert got.shape == tuple(shape) and got.dtype == ref.as_dtype(dtype)
    assert_same_bits(got, want, f"{sampler} {dtype} {shape}")


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("lower,upper", INTERVALS, ids=str)
def test_fastinit_equals_model_truncated_intervals(lower, upper, dtype):
    kw = dict(mean=0.0, std=1.0, lower=lower, upper=upper)
    want, _ = ref.sample("truncated_normal", (20011,), dtype=dtype, rng=7, **kw)
    got = fastinit.truncated_normal((20011,), dtype=dtype, rng=7, **kw)
    assert_same_bits(got, want, f"[{lower}, {upper}] {dtype}")


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("sampler,params", [
    ("uniform", dict(low=0.1, high=0.2)),
    ("uniform", dict(low=-1e-3, high=1e-3)),
    ("uniform", dict(low=-100.0, high=-99.0)),
    ("uniform", dict(low=1.0, high=1.001)),
    ("uniform", dict(low=-6e4, high=6e4)),
    ("uniform", dict(low=0.0, high=1e-30)),
    ("uniform", dict(low=-3e38, high=3e38)),                  # high - low > FLT_MAX
    ("uniform", dict(low=-1e38, high=3.4e38)),
    ("uniform", dict(low=-3.4e38, high=1e37)),
    ("normal", dict(mean=0.0, std=1e-3)),
    ("normal", dict(mean=-3.0, std=0.02)),
    ("normal", dict(mean=100.0, std=1e-5)),
    ("normal", dict(mean=0.5, std=0.0)),
    ("truncated_normal", dict(mean=0.1, std=0.3, lower=-1.7, upper=2.3)),
    ("truncated_normal", dict(mean=5.0, std=1e-3, lower=-2.0, upper=2.0)),
    ("truncated_normal", dict(mean=0.0, std=0.02, lower=-2.0, upper=2.0)),
    ("truncated_normal", dict(mean=-2.0, std=3.0, lower=-math.inf, upper=0.25)),
], ids=str)
def test_fastinit_equals_model_parameters(sampler, params, dtype):
    limit = {"float16": 65504, "bfloat16": 3.3895313892515355e38}.get(dtype, math.inf)
    if max(abs(params.get("low", 0)), abs(params.get("high", 0))) > limit:
        # bounds beyond the dtype's range are refused (stream contract, "Range")
        with pytest.raises(ValueError, match="low|high"):
            sampler_fn(sampler)((4099,), dtype=dtype, rng=99, **params)
        return
    want, _ = ref.sample(sampler, (4099,), dtype=dtype, rng=99, **params)
    got = sampler_fn(sampler)((4099,), dtype=dtype, rng=99, **params)
    assert_same_bits(got, want, f"{sampler} {params} {dtype}")


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("rng_kind", ["int", "seedseq", "fresh_gen", "gen_half", "gen_used",
                                      "bitgen"])
def test_fastinit_equals_model_rng_kinds(sampler, dtype, rng_kind):
    """Each SPEC 7 rng form; a Generator (or bare PCG64) is advanced exactly as the model says,
    the buffered 32-bit half included."""
    if rng_kind == "int":
        rng, twin = 31337, 31337
    elif rng_kind == "seedseq":
        rng, twin = np.random.SeedSequence(31337, spawn_key=(3,)), np.random.SeedSequence(
            31337, spawn_key=(3,))
    elif rng_kind == "bitgen":
        rng = np.random.PCG64(5)
        rng.random_raw(3)
        twin = np.random.PCG64(5)
        twin.random_raw(3)
    else:
        pre32 = {"fresh_gen": 0, "gen_half": 3, "gen_used": 4}[rng_kind]
        rng, twin = gen(8, pre32=pre32, pre64=1), gen(8, pre32=pre32, pre64=1)
    before = ref.initial_state(twin)
    want, after = ref.sample(sampler, (17, 59), dtype=dtype, rng=before, **PARAMS[sampler])
    got = sampler_fn(sampler)((17, 59), dtype=dtype, rng=rng, **PARAMS[sampler])
    assert_same_bits(got, want, f"{sampler} {dtype} {rng_kind}")
    if rng_kind in ("fresh_gen", "gen_half", "gen_used"):
        assert rng.bit_generator.state == after
    elif rng_kind == "bitgen":
        assert rng.state == after


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_fastinit_equals_model_blocks(sampler, dtype):
    """global_shape/index blocks equal the model's addressing (stepped, int, negative ints)."""
    g = gen(21, pre32=1)
    state = ref.initial_state(g)
    gshape = (9, 10, 11)
    for index in [(slice(2, 7), slice(None, None, 3), slice(1, 10, 4)), (4,), (-1, 2),
                  (slice(None), -3, slice(10, None)), (slice(0, 9, 8), slice(9, 10))]:
        want, _ = ref.sample(sampler, dtype=dtype, rng=state, global_shape=gshape, index=index,
                             **PARAMS[sampler])
        got = sampler_fn(sampler)(dtype=dtype, rng=g, global_shape=gshape, index=index,
                                  **PARAMS[sampler])
        assert_same_bits(got, want, f"{sampler} {dtype} {index}")
    assert g.bit_generator.state == state, "a block fill must not advance the Generator"
