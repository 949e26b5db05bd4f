"""Bad and extreme input across the whole public API: values beyond a dtype's range, the
exception types of every function, validation of empty tensors, gains that overflow."""

import math
import warnings

import numpy as np
import pytest

import fastinit
import reference as ref
from conftest import DTYPE_NAMES

MAX = {"float32": 3.4028234663852886e38, "float64": 1.7976931348623157e308,
       "float16": 65504.0, "bfloat16": 3.3895313892515355e38}


def finite_inside(x, lo, hi):
    v = np.asarray(x).astype(np.float64)
    return bool(np.all(np.isfinite(v)) and v.min() >= lo and v.max() <= hi)


# --- values beyond the dtype's range ----------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPE_NAMES)
def test_uniform_bounds_beyond_the_range_are_refused(dtype):
    m = MAX[dtype]
    for low, high, name in [(-1e39, 0.0, "low"), (-1e300, 1e300, "low"), (-3.5e38, 3.5e38, "low"),
                            (0.0, 1e39, "high"), (-7e4, 7e4, "low"), (0.0, 7e4, "high")]:
        if dtype == "float64" or (dtype != "float16" and abs(low) < 3.39e38 and high < 3.39e38):
            # in range for this dtype (float64 holds them all): finite values inside the bounds
            x = fastinit.uniform(4096, low, high, dtype=dtype, rng=1)
            assert finite_inside(x, low, high), (low, high)
            continue
        with pytest.raises(ValueError, match=rf"\b{name}\b") as info:
            fastinit.uniform(16, low, high, dtype=dtype, rng=1)
        assert dtype in str(info.value)
    # the whole range of the dtype is fine (float64: high - low must be finite too)
    if dtype == "float64":
        m /= 2
    x = fastinit.uniform(1 << 16, -m, m, dtype=dtype, rng=2)
    assert finite_inside(x, -m, m)
    assert np.asarray(x, np.float64).max() > m / 2 and np.asarray(x, np.float64).min() < -m / 2


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("sampler", ["normal", "truncated_normal"])
def test_normal_scales_beyond_the_range_are_refused(dtype, sampler):
    fn = getattr(fastinit, sampler)
    m = MAX[dtype]
    arith = MAX["float64" if dtype == "float64" else "float32"]
    zmax = 8.21 if dtype == "float64" else 6.34
    for std in (1e39, 1e300, arith, min(arith, m) / 2.5):
        if std < arith and std * (zmax if sampler == "normal" else 2.0) <= m:
            x = fn(1 << 16, 0.0, std, dtype=dtype, rng=3)
            assert finite_inside(x, -m, m)
            continue
        with pytest.raises(ValueError, match=r"\bstd\b"):
            fn(16, 0.0, std, dtype=dtype, rng=3)
    # the largest accepted scale of an untruncated normal: every word gives a finite value
    std = m / zmax / 1.001 if dtype != "float64" else 1e307
    x = fn(1 << 16, 0.0, std, dtype=dtype, rng=4)
    assert finite_inside(x, -m, m)
    # a mean beyond the range
    if dtype != "float64":
        with pytest.raises(ValueError, match=r"\bmean\b"):
            fn(16, 2 * m, 1.0, dtype=dtype, rng=3)


def test_extreme_words_stay_finite_at_the_largest_accepted_std():
    """The words 0 and 2^32 - 1 give the extreme z (+-6.3379583); at the largest std the range
    rule accepts, the reference model's values for them are finite in every 16/32-bit dtype."""
    words = np.array([0, 2**32 - 1], np.uint32)
    for dtype in ("float32", "float16", "bfloat16"):
        std = MAX[dtype] / 6.34
        fastinit.normal(4, 0.0, std, dtype=dtype, rng=0)          # accepted
        v = ref.normal_values(words, 0.0, std, -math.inf, math.inf, dtype)
        assert np.all(np.isfinite(np.asarray(v, np.float64))), dtype


@pytest.mark.parametrize("dtype", list(DTYPE_NAMES) + ["complex64", "complex128"])
@pytest.mark.parametrize("call,names", [
    (lambda **kw: fastinit.he_uniform((2, 3), fan_in=1e-300, **kw), "fan_in"),
    (lambda **kw: fastinit.he_normal((2, 3), fan_in=1e-300, **kw), "fan_in"),
    (lambda **kw: fastinit.xavier_uniform((2, 3), gain=1e300, **kw), "gain"),
    (lambda **kw: fastinit.xavier_normal((2, 3), gain=1e300, **kw), "gain"),
    (lambda **kw: fastinit.variance_scaling((2, 3), 1e300, "fan_in", "truncated_normal", **kw),
     "scale"),
    (lambda **kw: fastinit.variance_scaling((2, 3), 1e300, "fan_avg", "uniform", **kw),
     "scale"),
    (lambda **kw: fastinit.lecun_uniform((2, 3), fan_in=1e-300, **kw), "fan_in"),
    (lambda **kw: fastinit.lecun_normal((2, 3), fan_in=1e-300, **kw), "fan_in"),
], ids=["he_uniform", "he_normal", "xavier_uniform", "xavier_normal", "vs_truncated",
        "vs_uniform", "lecun_uniform", "lecun_normal"])
def test_initializer_scales_beyond_the_range(call, names, dtype):
    """float64 holds these (std up to ~6e299, values up to ~5e300): finite values; every
    narrower dtype refuses them with a ValueError naming the parameter that made the scale."""
    kw = dict(dtype=np.dtype(dtype) if dtype.startswith("complex") else dtype)
    if dtype in ("float64", "complex128"):
        x = call(rng=5, **kw)
        assert np.all(np.isfinite(x))
        return
    with pytest.raises(ValueError, match=rf"\b{names}\b"):
        call(rng=5, **kw)


def test_he_negative_slope_whose_square_overflows():
    for fn in (fastinit.he_normal, fastinit.he_uniform):
        with pytest.raises(ValueError, match=r"\ba=1e\+200"):
            fn((3, 3), a=1e200)
    with pytest.raises(ValueError, match="negative_slope"):
        fastinit.calculate_gain("leaky_relu", 1e200)
    assert fastinit.calculate_gain("leaky_relu", 1e150) == math.sqrt(2.0 / (1 + 1e300))


# --- gains that overflow the dtype (eye, orthogonal, ...) ------------------------------------

@pytest.mark.parametrize("dtype,big", [("float16", 1e5), ("bfloat16", 3.4e38),
                                       ("float32", 1e39), ("complex64", 1e39)])
@pytest.mark.parametrize("fn", [
    lambda g, **kw: fastinit.constant((3, 3), g, **kw),
    lambda g, **kw: fastinit.eye((3, 3), g, **kw),
    lambda g, **kw: fastinit.orthogonal((3, 3), g, **kw),
    lambda g, **kw: fastinit.delta_orthogonal((3, 3, 3), g, **kw),
], ids=["constant", "eye", "orthogonal", "delta_orthogonal"])
def test_values_and_gains_that_overflow_are_refused_alike(fn, dtype, big):
    if dtype == "complex64" and fn.__code__.co_names[-1] in ("orthogonal", "delta_orthogonal"):
        return                      # no complex orthogonal fills
    kw = dict(dtype=np.dtype(dtype) if dtype == "complex64" else dtype)
    out = np.full((3, 3, 3)[:2 + ("delta" in fn.__code__.co_names[-1])], 7,
                  ref.as_dtype(dtype) if dtype != "complex64" else np.complex64)
    before = out.copy()
    with pytest.raises(ValueError, match=r"overflows"):
        fn(big, out=out, **kw)
    assert np.array_equal(out, before)
    # the largest finite value itself is fine (|q| <= 1 keeps the orthogonal ones finite)
    m = MAX.get(dtype, MAX["float32"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = fn(m, rng=1, **kw)
    assert np.all(np.isfinite(x))


# --- empty tensors validate everything -------------------------------------------------------

EMPTY_CASES = [
    # (function, good shape, empty shape, args, kwargs)
    ("variance_scaling", (3, 5), (0, 5), (), dict(scale=-1.0)),
    ("variance_scaling", (3, 5), (0, 5), (), dict(mode="bogus")),
    ("variance_scaling", (3, 5), (0, 5), (), dict(distribution="bogus")),
    ("variance_scaling", (3, 5), (3, 0), (), dict(fan_in=-1)),
    ("variance_scaling", (3, 5), (0, 5), (), dict(layout="bogus")),
    ("variance_scaling", (3, 5), (0, 5), (), dict(in_axis=99)),
    ("variance_scaling", (3, 5), (0, 5), (), dict(batch_axis=0, in_axis=0)),
    ("variance_scaling", (3, 5), (0, 5), (), dict(dtype="int32")),
    ("variance_scaling", (3, 5), (0, 5), (), dict(rng="seed")),
    ("variance_scaling", (3, 5), (0, 5), (), dict(threads=0)),
    ("xavier_uniform", (3, 5), (0, 5), (), dict(gain=-1.0)),
    ("xavier_uniform", (3, 5), (0, 5), (), dict(fan_out=math.nan)),
    ("xavier_normal", (3, 5), (0, 5), (), dict(layout="bogus")),
    ("xavier_normal", (3, 5), (0, 5), (), dict(out_axis=7)),
    ("he_normal", (3, 5), (0, 5), (), dict(fan_in=-1)),
    ("he_normal", (3, 5), (0, 5), (), dict(layout="bogus")),
    ("he_normal", (3, 5), (0, 5), (), dict(in_axis=99)),
    ("he_normal", (3, 5), (0, 5), (), dict(mode="bogus")),
    ("he_normal", (3, 5), (0, 5), (), dict(nonlinearity="bogus")),
    ("he_uniform", (3, 5), (0, 5), (), dict(a=math.nan)),
    ("he_uniform", (3, 5), (0, 5), (), dict(fan_in="3")),
    ("he_uniform", (3, 5), (0,), (), dict(layout="bogus")),
    ("he_uniform", (3, 5), (0,), (), dict(fan_in=-2.0)),
    ("lecun_uniform", (3, 5), (0, 5), (), dict(fan_in=0)),
    ("lecun_normal", (3, 5), (0, 5), (), dict(layout=3)),
    ("selu_normal", (3, 5), (0, 5), (), dict(in_axis=(0, 0))),
    ("orthogonal", (3, 5), (0, 5), (), dict(gain=-1.0)),
    ("orthogonal", (3, 5), (0, 5), (), dict(column_axis=9)),
    ("orthogonal", (3, 5), (0, 5), (), dict(gain=1e5, dtype="float16")),
    ("delta_orthogonal", (5, 4, 3), (5, 0, 3), (), dict(gain=0.0)),
    ("delta_orthogonal", (5, 4, 3), (5, 0, 3), (), dict(layout="bogus")),
    ("delta_orthogonal", (5, 4, 3), (5, 0, 3), (), dict(gain=1e5, dtype="float16")),
    ("eye", (3, 5), (0, 5), (), dict(gain=math.inf)),
    ("eye", (3, 5), (0, 5), (), dict(gain=1e5, dtype="float16")),
    ("dirac", (4, 4, 3), (0, 4, 3), (), dict(groups=0)),
    ("dirac", (4, 4, 3), (4, 0, 3), (), dict(groups=3)),
    ("dirac", (4, 4, 3), (0, 4, 3), (), dict(layout="bogus")),
    ("sparse", (3, 5), (0, 5), (0.5,), dict(std=-1.0)),
    ("sparse", (3, 5), (0, 5), (0.5,), dict(std=math.nan)),
    ("sparse", (3, 5), (0, 5), (2.0,), {}),
    ("sparse", (3, 5), (0, 5), (0.5,), dict(std=1e5, dtype="float16")),
    ("constant", (3, 5), (0, 5), (1e5,), dict(dtype="float16")),
    ("constant", (3, 5), (0, 5), ("a",), {}),
    ("zeros", (3, 5), (0, 5), (), dict(rng=1.5)),
    ("ones", (3, 5), (0, 5), (), dict(threads=-1)),
    ("normal", (3, 5), (0, 5), (), dict(std=-1.0)),
    ("uniform", (3, 5), (0, 5), (), dict(low=-1e39)),
    ("truncated_normal", (3, 5), (0, 5), (), dict(lower=3.0, upper=2.0)),
    ("random", (3, 5), (0, 5), (), dict(dtype="int8")),
]


@pytest.mark.parametrize("name,good,empty,args,kw", EMPTY_CASES,
                         ids=[f"{c[0]}-{sorted(c[4]) or c[3] or c[2]}" for c in EMPTY_CASES])
def test_empty_tensors_validate_every_argument(name, good, empty, args, kw):
    """The same bad argument raises the same exception whether or not the tensor has
    elements (and whether it is given by shape or as out)."""
    fn = getattr(fastinit, name)
    with pytest.raises((TypeError, ValueError)) as full:
        fn(good, *args, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(type(full.value)):
            fn(empty, *args, **kw)
        if "dtype" not in kw:
            with pytest.raises(type(full.value)):
                fn(None, *args, out=np.empty(empty, np.float32), **kw)


# --- exception types: a small fuzz over every public function ----------------------------------

FUNCTIONS = ["random", "uniform", "normal", "truncated_normal", "variance_scaling",
             "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "lecun_uniform",
             "lecun_normal", "selu_normal", "orthogonal", "delta_orthogonal", "eye", "dirac",
             "sparse", "constant", "zeros", "ones"]
SHAPES = {"delta_orthogonal": (4, 3, 3), "dirac": (4, 3, 3)}
BAD = [None, "x", b"1", -1, 0, -1.5, math.nan, math.inf, -math.inf, 1e300, -1e300, 2**70,
       -(2**70), 2**63, 1e-320, [1], (1, 2), (), object(), True, 1j, slice(0, 1),
       np.float32(np.nan), np.int64(-5), np.array([1.0, 2.0]), Ellipsis]
KEYWORDS = {
    "random": [], "uniform": ["low", "high"], "normal": ["mean", "std"],
    "truncated_normal": ["mean", "std", "lower", "upper"],
    "variance_scaling": ["scale", "mode", "distribution", "fan_in", "fan_out", "in_axis",
                         "out_axis", "batch_axis", "layout"],
    "xavier_uniform": ["gain", "fan_in", "fan_out", "layout", "in_axis"],
    "xavier_normal": ["gain", "fan_in", "fan_out", "out_axis"],
    "he_uniform": ["a", "mode", "nonlinearity", "fan_in", "batch_axis"],
    "he_normal": ["a", "mode", "nonlinearity", "fan_out", "layout"],
    "lecun_uniform": ["fan_in", "in_axis"], "lecun_normal": ["fan_in", "layout"],
    "selu_normal": ["fan_in", "out_axis"],
    "orthogonal": ["gain", "column_axis"], "delta_orthogonal": ["gain", "layout"],
    "eye": ["gain"], "dirac": ["groups", "layout"], "sparse": ["sparsity", "std"],
    "constant": ["value"], "zeros": [], "ones": [],
}
COMMON = ["shape", "dtype", "rng", "threads", "global_shape", "index", "out"]


def fuzz_calls(seed, n):
    r = np.random.default_rng(seed)
    for _ in range(n):
        name = FUNCTIONS[r.integers(len(FUNCTIONS))]
        params = KEYWORDS[name] + COMMON
        kw = {}
        for _ in range(int(r.integers(1, 3))):
            p = params[r.integers(len(params))]
            kw[p] = BAD[r.integers(len(BAD))]
        yield name, kw


def _allowed(exc):
    return isinstance(exc, (TypeError, ValueError, MemoryError))


def test_bad_input_raises_typeerror_or_valueerror_only():
    """Every call with one or two bad arguments either works or raises TypeError, ValueError
    (or MemoryError for a valid size that cannot be had), never OverflowError, OSError,
    IndexError, ZeroDivisionError...; a valid `out` passed along is never written on error."""
    seen = {}
    r = np.random.default_rng(1)
    for name, kw in fuzz_calls(20260, 1500):
        default = "shape" not in kw
        shape = kw.pop("shape", SHAPES.get(name, (3, 4)))
        extra = {"sparsity": 0.5} if name == "sparse" and "sparsity" not in kw else {}
        extra.update({"value": 1.0} if name == "constant" and "value" not in kw else {})
        sentinel = before = None
        if ("out" not in kw and "dtype" not in kw and "global_shape" not in kw
                and default and r.random() < 0.5):
            # a valid out instead of the shape: it must come back untouched on error
            sentinel = np.full(shape, 3.0, np.float32)
            kw["out"], shape, before = sentinel, None, sentinel.copy()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(fastinit, name)(shape, **extra, **kw)
        except Exception as exc:           # noqa: BLE001 - the test is about the type
            if not _allowed(exc):
                pytest.fail(f"{name}(shape={shape!r}, {kw!r}) raised {type(exc).__name__}: "
                            f"{exc}")
            seen[type(exc).__name__] = seen.get(type(exc).__name__, 0) + 1
            if before is not None:
                assert np.array_equal(before, sentinel), (name, kw)
    assert seen.get("TypeError", 0) > 100 and seen.get("ValueError", 0) > 100


@pytest.mark.parametrize("call", [
    lambda v: fastinit.compute_fans(v),
    lambda v: fastinit.compute_fans((3, 4), fan_in=v),
    lambda v: fastinit.compute_fans((3, 4), in_axis=v),
    lambda v: fastinit.compute_fans((3, 4), layout=v),
    lambda v: fastinit.compute_fans((3, 4, 5), batch_axis=v),
    lambda v: fastinit.calculate_gain(v),
    lambda v: fastinit.calculate_gain("leaky_relu", v),
    lambda v: fastinit.seed_for(v, "w"),
    lambda v: fastinit.seed_for(1, v),
    lambda v: fastinit.set_num_threads(v),
    lambda v: fastinit.set_simd_path(v),
], ids=["shape", "fan_in", "in_axis", "layout", "batch_axis", "nonlinearity", "param",
        "seed_for seed", "seed_for name", "set_num_threads", "set_simd_path"])
def test_helpers_raise_typeerror_or_valueerror_only(call):
    try:
        for v in BAD:
            try:
                call(v)
            except Exception as exc:       # noqa: BLE001 - the test is about the type
                if not _allowed(exc):
                    pytest.fail(f"{v!r}: {type(exc).__name__}: {exc}")
    finally:
        fastinit.set_num_threads(None)
        fastinit.set_simd_path("auto")


@pytest.mark.parametrize("fn", [
    lambda: fastinit.normal(2**60),
    lambda: fastinit.uniform((2**30, 2**29), dtype="float64"),
    lambda: fastinit.he_normal((2**31, 2**29)),
    lambda: fastinit.zeros((2**60,)),
], ids=["normal", "uniform", "he_normal", "zeros"])
def test_sizes_beyond_memory_are_memoryerror(fn):
    """As numpy's np.empty: a request that fits the address space arithmetic but cannot be
    allocated is a MemoryError (not OSError or OverflowError)."""
    with pytest.raises(MemoryError):
        fn()


@pytest.mark.parametrize("fn", [
    lambda: fastinit.normal(2**61, dtype="float64"),
    lambda: fastinit.uniform((2**40, 2**40)),
], ids=["bytes", "elements"])
def test_sizes_beyond_the_address_space_are_valueerror(fn):
    with pytest.raises(ValueError, match="shape"):
        fn()


def test_constant_block_of_a_huge_virtual_tensor():
    """A block of a constant fill never builds a view of the whole global tensor."""
    out = fastinit.constant(None, 2.5, out=np.empty((2, 3)), global_shape=(2**61, 3),
                            index=(slice(5, 7),))
    assert np.all(out == 2.5)
    v = np.arange(3.0)
    out = fastinit.constant(None, v, out=np.empty((2, 3)), global_shape=(2**61, 3),
                            index=(slice(5, 7),))
    assert np.array_equal(out, np.broadcast_to(v, (2, 3)))
    out = fastinit.constant(None, v[:, None], out=np.empty(4), global_shape=(3, 2**61),
                            index=(1, slice(0, 4)))
    assert np.all(out == 1.0)


def test_index_steps_beyond_int64():
    """A step larger than the axis selects one element; it never reaches the engine's int64."""
    full = fastinit.normal(10, rng=3)
    out = fastinit.normal(1, rng=3, global_shape=(10,), index=(slice(0, None, 2**63),))
    assert np.array_equal(out, full[0::2**63])
    out = fastinit.normal((2, 1), rng=3, global_shape=(4, 5),
                          index=(slice(1, None, 2), slice(2, None, 2**80)))
    assert np.array_equal(out, fastinit.normal((4, 5), rng=3)[1::2, 2::2**80])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_far_tail_intervals_use_their_own_extremes(dtype):
    """[30, inf): z reaches about 30.75 (32-bit words), beyond a plain normal's 6.34; the
    range rule follows the interval. Accepted scales give finite values only."""
    m = MAX[dtype]
    zmax = 30.75 if dtype != "float64" else 31.2
    with pytest.raises(ValueError, match=r"\bstd\b"):
        fastinit.truncated_normal(16, 0.0, m / 30.2, 30.0, math.inf, dtype=dtype, rng=1)
    std = m / (zmax * 1.001)
    x = fastinit.truncated_normal(1 << 18, 0.0, std, 30.0, math.inf, dtype=dtype, rng=1)
    v = np.asarray(x, np.float64)
    assert np.all(np.isfinite(v)) and v.min() >= 30.0 * std * (1 - 1e-3)
