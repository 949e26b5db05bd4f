"""Issue item 5: bad input raises a clear TypeError (wrong type) or ValueError (wrong value)
whose message names the parameter; `out` is left untouched and a Generator is not advanced."""

import math

import numpy as np
import pytest

import fastinit
import reference as ref
from conftest import gen

INF, NAN = math.inf, math.nan


def sentinel(shape=(10, 7), dtype=np.float32):
    a = np.empty(shape, dtype)
    a.view(np.uint8)[...] = 0xA5
    return a


def readonly(a):
    a.flags.writeable = False
    return a


# (id, sampler, kwargs, exception, regex the message must match). When kwargs name neither
# `out` nor `shape`, a valid sentinel float32 out is added, so that the bad parameter is the only
# thing wrong and the test can check that nothing was written.
CASES = [
    # out
    ("out int32", "normal", dict(out=sentinel(dtype=np.int32)), TypeError, r"\bout\b"),
    ("out int64", "uniform", dict(out=sentinel(dtype=np.int64)), TypeError, r"\bout\b"),
    ("out uint8", "random", dict(out=sentinel(dtype=np.uint8)), TypeError, r"\bout\b"),
    ("out complex64", "normal", dict(out=sentinel(dtype=np.complex64)), TypeError, r"\bout\b"),
    ("out complex128", "truncated_normal", dict(out=sentinel(dtype=np.complex128)), TypeError,
     r"\bout\b"),
    ("out bool", "random", dict(out=sentinel(dtype=np.bool_)), TypeError, r"\bout\b"),
    ("out big-endian", "random", dict(out=sentinel(dtype=">f4")), TypeError, r"\bout\b"),
    ("out list", "normal", dict(out=[0.0, 1.0]), TypeError, r"\bout\b"),
    ("out uint16 without dtype", "normal", dict(out=sentinel(dtype=np.uint16)), TypeError,
     r"dtype"),
    ("out uint16 dtype float32", "normal", dict(out=sentinel(dtype=np.uint16), dtype="float32"),
     TypeError, r"uint16"),
    ("out read-only", "normal", dict(out=readonly(sentinel())), ValueError, r"\bout\b.*read-only"),
    ("out read-only uint16", "normal", dict(out=readonly(sentinel(dtype=np.uint16)),
                                            dtype="bfloat16"), ValueError, r"read-only"),
    ("out read-only buffer", "random", dict(out=memoryview(bytes(40)).cast("f")), ValueError,
     r"read-only"),
    ("out dtype mismatch", "normal", dict(out=sentinel(), dtype="float64"), TypeError, r"dtype"),
    ("shape/out mismatch", "normal", dict(shape=(7, 10), out=sentinel()), ValueError, r"shape"),
    ("shape/out mismatch 1-D", "uniform", dict(shape=70, out=sentinel()), ValueError, r"shape"),
    ("negative shape", "normal", dict(shape=(3, -1)), ValueError, r"shape"),
    ("float shape", "normal", dict(shape=(3, 2.5)), TypeError, r"shape"),
    ("string shape", "random", dict(shape="abc"), TypeError, r"shape"),
    ("no shape no out", "random", dict(shape=None), TypeError, r"shape"),
    # normal parameters
    ("std negative", "normal", dict(std=-1.0), ValueError, r"\bstd\b"),
    ("std negative tiny", "truncated_normal", dict(std=-1e-300), ValueError, r"\bstd\b"),
    ("std nan", "normal", dict(std=NAN), ValueError, r"\bstd\b"),
    ("std inf", "truncated_normal", dict(std=INF), ValueError, r"\bstd\b"),
    # numpy's Generator.normal(0, "1") is a TypeError ("must be real number, not str")
    ("std string", "normal", dict(std="1"), TypeError, r"\bstd\b"),
    ("std None", "normal", dict(std=None), TypeError, r"\bstd\b"),
    ("mean nan", "normal", dict(mean=NAN), ValueError, r"\bmean\b"),
    ("mean inf", "truncated_normal", dict(mean=-INF), ValueError, r"\bmean\b"),
    ("mean complex", "normal", dict(mean=1j), TypeError, r"\bmean\b"),
    ("lower == upper", "truncated_normal", dict(lower=1.0, upper=1.0), ValueError, r"lower"),
    ("lower > upper", "truncated_normal", dict(lower=2.0, upper=-2.0), ValueError, r"lower"),
    ("lower = upper = inf", "truncated_normal", dict(lower=INF, upper=INF), ValueError, r"lower"),
    ("lower nan", "truncated_normal", dict(lower=NAN), ValueError, r"\blower\b"),
    ("upper nan", "truncated_normal", dict(upper=NAN), ValueError, r"\bupper\b"),
    ("lower string", "truncated_normal", dict(lower="a"), TypeError, r"\blower\b"),
    ("interval beyond 37 std", "truncated_normal", dict(lower=38.0, upper=39.0), ValueError,
     r"lower|upper|interval"),
    # uniform parameters
    ("low == high", "uniform", dict(low=1.0, high=1.0), ValueError, r"\blow\b"),
    ("low > high", "uniform", dict(low=2.0, high=-1.0), ValueError, r"\blow\b"),
    ("low nan", "uniform", dict(low=NAN), ValueError, r"\blow\b"),
    ("high inf", "uniform", dict(high=INF), ValueError, r"\bhigh\b"),
    ("high string", "uniform", dict(high="1"), TypeError, r"\bhigh\b"),
    ("mean bytes", "normal", dict(mean=b"0.5"), TypeError, r"\bmean\b"),
    ("high - low overflows", "uniform", dict(low=-1.5e308, high=1.5e308, out=sentinel(
        dtype=np.float64)), ValueError, r"high - low"),
    ("no float16 value in [low, high)", "uniform", dict(low=1.0001, high=1.0002, out=sentinel(
        dtype=np.float16)), ValueError, r"low|high"),
    # rng
    ("rng RandomState", "normal", dict(rng=np.random.RandomState(0)), TypeError, r"\brng\b"),
    ("rng PCG64DXSM Generator", "normal", dict(rng=np.random.Generator(np.random.PCG64DXSM(0))),
     TypeError, r"\brng\b.*PCG64"),
    ("rng MT19937 Generator", "random", dict(rng=np.random.Generator(np.random.MT19937(0))),
     TypeError, r"\brng\b"),
    ("rng Philox bit generator", "random", dict(rng=np.random.Philox(0)), TypeError, r"\brng\b"),
    ("rng string", "uniform", dict(rng="12345"), TypeError, r"\brng\b"),
    ("rng float", "normal", dict(rng=1.0), TypeError, r"\brng\b"),
    ("rng bool", "normal", dict(rng=True), TypeError, r"\brng\b"),
    ("rng numpy bool", "normal", dict(rng=np.bool_(False)), TypeError, r"\brng\b"),
    ("rng negative", "normal", dict(rng=-1), ValueError, r"\brng\b"),
    ("rng module", "normal", dict(rng=np.random), TypeError, r"\brng\b"),
    # threads
    ("threads 0", "normal", dict(threads=0), ValueError, r"\bthreads\b"),
    ("threads -2", "random", dict(threads=-2), ValueError, r"\bthreads\b"),
    ("threads float", "normal", dict(threads=2.0), TypeError, r"\bthreads\b"),
    ("threads string", "normal", dict(threads="2"), TypeError, r"\bthreads\b"),
    ("threads bool", "uniform", dict(threads=True), TypeError, r"\bthreads\b"),
    # dtype
    ("dtype int32", "normal", dict(shape=3, dtype="int32"), TypeError, r"\bdtype\b"),
    ("dtype int16", "random", dict(shape=3, dtype=np.int16), TypeError, r"\bdtype\b"),
    ("dtype complex64", "normal", dict(shape=3, dtype=np.complex64), TypeError, r"\bdtype\b"),
    ("dtype bool", "normal", dict(shape=3, dtype=bool), TypeError, r"\bdtype\b"),
    ("dtype unknown name", "uniform", dict(shape=3, dtype="float8"), TypeError, r"\bdtype\b"),
    ("dtype longdouble", "normal", dict(shape=3, dtype=np.longdouble), TypeError, r"\bdtype\b"),
    ("dtype vs out", "normal", dict(dtype="float16"), TypeError, r"\bdtype\b"),
    # global_shape / index
    ("index without global_shape", "normal", dict(index=(slice(0, 2),)), ValueError, r"index"),
    ("global_shape negative", "normal", dict(global_shape=(10, -7), out=None, shape=None),
     ValueError, r"global_shape"),
    ("global_shape float", "normal", dict(global_shape=(10.0, 7)), TypeError, r"global_shape"),
    ("index out of range", "normal", dict(global_shape=(10, 7), index=(10,), out=None,
                                          shape=None), ValueError, r"index"),
    ("index negative step", "normal", dict(global_shape=(10, 7), index=(slice(None, None, -1),)),
     ValueError, r"index"),
    ("index too long", "normal", dict(global_shape=(10, 7), index=(0, 0, 0), out=None,
                                      shape=None), ValueError, r"index"),
    ("index None entry", "normal", dict(global_shape=(10, 7), index=(None,)), TypeError,
     r"index"),
    ("index Ellipsis entry", "normal", dict(global_shape=(10, 7), index=(Ellipsis,)), TypeError,
     r"index"),
    ("index float entry", "normal", dict(global_shape=(10, 7), index=(1.0,)), TypeError,
     r"index"),
    ("out does not match block", "normal", dict(global_shape=(20, 7), index=(slice(0, 11),)),
     ValueError, r"out\.shape|index"),
    ("shape does not match block", "normal", dict(global_shape=(20, 7), index=(slice(0, 10),),
                                                  shape=(10, 6), out=None), ValueError, r"shape"),
    ("int shape does not match block", "uniform", dict(shape=5, global_shape=(10,),
                                                       index=(slice(0, 3),), out=None),
     ValueError, r"shape"),
    ("index slice of strings", "normal", dict(global_shape=(10, 7), index=(slice("a", 3),)),
     TypeError, r"index"),
    ("index list", "normal", dict(global_shape=(10, 7), index=[slice(0, 3)]), TypeError,
     r"index"),
    # values beyond the dtype's finite range (stream contract, "Range")
    ("low beyond float32", "uniform", dict(low=-1e39, high=0.0), ValueError, r"\blow\b"),
    ("both bounds beyond float32", "uniform", dict(low=-1e300, high=1e300), ValueError,
     r"\blow\b"),
    ("bounds just beyond float32", "uniform", dict(low=-3.5e38, high=3.5e38), ValueError,
     r"\blow\b"),
    ("high beyond float16", "uniform", dict(low=0.0, high=7e4, out=sentinel(dtype=np.float16)),
     ValueError, r"\bhigh\b"),
    ("std beyond float32", "normal", dict(std=1e39), ValueError, r"\bstd\b"),
    ("std beyond float32 truncated", "truncated_normal", dict(std=1e39), ValueError,
     r"\bstd\b"),
    ("std * z beyond float32", "normal", dict(std=1e38), ValueError, r"\bstd\b"),
    ("std beyond float16", "normal", dict(std=2e4, out=sentinel(dtype=np.float16)), ValueError,
     r"\bstd\b"),
    ("mean beyond float16", "normal", dict(mean=7e4, std=0.0, out=sentinel(dtype=np.float16)),
     ValueError, r"\bmean\b"),
    ("mean beyond bfloat16", "normal", dict(mean=3.4e38, out=sentinel(dtype=np.uint16),
                                            dtype="bfloat16"), ValueError, r"\bmean\b"),
    ("std beyond float64", "normal", dict(std=1e308, out=sentinel(dtype=np.float64)),
     ValueError, r"\bstd\b"),
]


@pytest.mark.parametrize("name,sampler,kwargs,exc,match", CASES, ids=[c[0] for c in CASES])
def test_bad_input(name, sampler, kwargs, exc, match):
    kwargs = dict(kwargs)
    if "out" not in kwargs and "shape" not in kwargs:
        kwargs["out"] = sentinel()
    out = kwargs.get("out")
    before = None
    if isinstance(out, np.ndarray):
        before = out.copy()
    if "rng" not in kwargs:
        kwargs["rng"] = gen(5, pre32=1)
    g = kwargs["rng"]
    state = g.bit_generator.state if isinstance(g, np.random.Generator) else None
    shape = kwargs.pop("shape", None)
    with pytest.raises(exc, match=match):
        getattr(fastinit, sampler)(shape, **kwargs)
    if before is not None:
        assert np.array_equal(before.view(np.uint8), out.view(np.uint8)), "out was written"
    if state is not None:
        assert repr(g.bit_generator.state) == repr(state), "a failed call advanced the Generator"


def test_bad_input_never_writes_a_large_out():
    """A large out (many threads, many engine slices) is left whole by a failing call whose
    error is found last (the rng comes after out, dtype, parameters, threads and the block)."""
    out = sentinel((1 << 20,))
    before = out.copy()
    with pytest.raises(TypeError, match="rng"):
        fastinit.normal(out=out, rng="x", threads=2)
    assert np.array_equal(before.view(np.uint8), out.view(np.uint8))


def test_unsupported_rng_is_a_typeerror_with_guidance():
    with pytest.raises(TypeError) as info:
        fastinit.normal(3, rng=np.random.Generator(np.random.SFC64(1)))
    msg = str(info.value)
    assert "SFC64" in msg and "PCG64" in msg


def test_set_num_threads_validates():
    with pytest.raises(ValueError, match=r"\bn\b"):
        fastinit.set_num_threads(0)
    with pytest.raises(TypeError, match=r"\bn\b"):
        fastinit.set_num_threads(1.5)
    fastinit.set_num_threads(np.int64(2))
    assert fastinit.get_num_threads() == 2
    fastinit.set_num_threads(None)
    assert fastinit.get_num_threads() >= 1


def test_accepted_spellings():
    """Not errors: numpy integer seeds and thread counts, dtype spellings, big int seeds."""
    a = fastinit.normal(5, rng=np.int64(3), threads=np.int32(2), dtype="f4")
    assert a.dtype == np.float32
    assert np.array_equal(a, fastinit.normal(5, rng=3))
    assert fastinit.normal(5, dtype=float, rng=1).dtype == np.float64
    assert fastinit.normal(5, dtype="bf16", rng=1).dtype == ref.BF16
    want, _ = ref.sample("normal", 5, rng=2**128 + 1)
    assert np.array_equal(fastinit.normal(5, rng=2**128 + 1), want)
