"""fastinit.fill_many: one batched engine call equals the individual fills, bit for bit."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastinit
import reference as ref
from conftest import DTYPE_NAMES, PARAMS, SAMPLERS, assert_same_bits, clone, gen, np_dtype


def _layouts(dtype, seed):
    """(name, array, extra kwargs) outputs of every layout, sized to cross block edges."""
    dt = np_dtype(dtype)
    big = np.full(70_001, np.nan, dt)                              # crosses a 65536 block
    f_order = np.asfortranarray(np.full((300, 230), np.nan, dt))   # F order, 69000 elements
    base = np.full((400, 600), np.nan, dt)
    strided = base[::2, 1::3]                                      # 200 x 200, strided
    neg = np.full((257, 3), np.nan, dt)[::-1, ::-1]                # negative strides
    block = np.full((40, 33), np.nan, dt)                          # a block of a global tensor
    small = np.full(7, np.nan, dt)
    empty = np.full((0, 5), np.nan, dt)
    return [
        ("contiguous", big, {}),
        ("fortran", f_order, {}),
        ("strided", strided, {}),
        ("negative", neg, {}),
        ("block", block, {"global_shape": (100, 50), "index": (slice(10, 90, 2), slice(7, 40))}),
        ("small", small, {}),
        ("empty", empty, {}),
        ("seeded", np.full(3001, np.nan, dt), {"rng": seed}),
    ]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_batch_equals_individual_fills(sampler, dtype, threads):
    """Every layout, one Generator shared by the items (with numpy's buffered half set at the
    start), plus an int-seeded item: outputs and the Generator's final state equal those of
    calling the sampler once per item, in order."""
    g = gen(5, pre32=3)
    g_seq = clone(g)
    items, expect = [], []
    for name, arr, extra in _layouts(dtype, seed=11):
        kw = dict(PARAMS[sampler], dtype=dtype, **extra)
        kw.setdefault("rng", g)
        items.append((sampler, arr, kw))
        seq = arr.copy()
        kw_seq = dict(kw, rng=g_seq if kw["rng"] is g else kw["rng"])
        getattr(fastinit, sampler)(out=seq, **kw_seq)
        expect.append((name, seq))
    outs = fastinit.fill_many(items, threads=threads)
    for (name, want), got, item in zip(expect, outs, items):
        assert got is item[1]
        assert_same_bits(got, want, f"{sampler}/{dtype}/{name}")
    assert g.bit_generator.state == g_seq.bit_generator.state


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_batch_equals_numpy_reference(sampler, dtype):
    """Against the pure-NumPy model of the stream contract: two items from one seed-derived
    Generator, then a block of a global tensor."""
    g = np.random.default_rng(21)
    a = np.empty((33, 17), np_dtype(dtype))
    b = np.empty(1000, np_dtype(dtype))[::2]
    c = np.empty((5, 10), np_dtype(dtype))
    fastinit.fill_many([
        fastinit.FillSpec(sampler, a, rng=g, dtype=dtype, **PARAMS[sampler]),
        fastinit.FillSpec(getattr(fastinit, sampler), b, rng=g, dtype=dtype, **PARAMS[sampler]),
        fastinit.FillSpec(sampler, c, rng=4, dtype=dtype, global_shape=(20, 30),
                          index=(slice(3, 8), slice(2, 30, 3)), **PARAMS[sampler]),
    ], threads=2)
    want_a, st = ref.sample(sampler, (33, 17), dtype=dtype, rng=21, **PARAMS[sampler])
    want_b, st_b = ref.sample(sampler, 500, dtype=dtype, rng=st, **PARAMS[sampler])
    want_c, _ = ref.sample(sampler, dtype=dtype, rng=4, global_shape=(20, 30),
                           index=(slice(3, 8), slice(2, 30, 3)), **PARAMS[sampler])
    assert_same_bits(a, want_a, "a")
    assert_same_bits(b, want_b, "b")
    assert_same_bits(c, want_c, "c")
    assert g.bit_generator.state == st_b


def test_mixed_dtypes_share_one_generator():
    """32-bit-word and 64-bit-draw outputs consume one Generator in item order."""
    g = gen(8, pre32=1)
    g_seq = clone(g)
    arrs = [np.empty(n, np_dtype(d)) for n, d in
            [(100_003, "float32"), (70_000, "float64"), (9, "bfloat16"), (66_000, "float16"),
             (5, "float64"), (131_073, "float32")]]
    kinds = ["normal", "uniform", "truncated_normal", "random", "normal", "uniform"]
    dts = ["float32", "float64", "bfloat16", "float16", "float64", "float32"]
    fastinit.fill_many([(k, a, {"rng": g, "dtype": d}) for k, a, d in zip(kinds, arrs, dts)],
                       threads=2)
    for k, a, d in zip(kinds, arrs, dts):
        want = getattr(fastinit, k)(a.shape, rng=g_seq, dtype=d)
        assert_same_bits(a, want, f"{k}/{d}")
    assert g.bit_generator.state == g_seq.bit_generator.state


@pytest.mark.parametrize("name", ["xavier_uniform", "glorot_normal", "he_uniform",
                                  "kaiming_normal", "lecun_uniform", "lecun_normal",
                                  "selu_normal", "variance_scaling"])
def test_initializers_are_batched(name):
    g = np.random.default_rng(3)
    g_seq = np.random.default_rng(3)
    w = np.empty((300, 257), np.float32)
    k = np.empty((3, 3, 16, 32), "float64")
    extra = {"scale": 2.0, "mode": "fan_avg"} if name == "variance_scaling" else {}
    fastinit.fill_many([(name, w, dict(rng=g, **extra)),
                        (getattr(fastinit, name), k, dict(rng=g, layout="jax", **extra))])
    fn = getattr(fastinit, name)
    assert_same_bits(w, fn(out=np.empty_like(w), rng=g_seq, **extra), "w")
    assert_same_bits(k, fn(out=np.empty_like(k), rng=g_seq, layout="jax", **extra), "k")
    assert g.bit_generator.state == g_seq.bit_generator.state


def test_empty_batch_and_generator_inputs():
    assert fastinit.fill_many([]) == []
    a = np.empty(10, np.float32)
    assert fastinit.fill_many(iter([("normal", a)]))[0] is a


def _poisoned_batch(g, bad):
    good = [np.full(100_000, 7.0, np.float32), np.full(50, 7.0, np.float64)]
    items = [("normal", good[0], {"rng": g}), ("uniform", good[1], {"rng": g, "low": -1})]
    return good, items + [bad]


@pytest.mark.parametrize("bad, exc, words", [
    (("normal", np.empty(3, np.float32), {"std": -1.0}), ValueError, ["items[2]", "std"]),
    (("uniform", np.empty(3, np.float32), {"low": 2, "high": 1}), ValueError,
     ["items[2]", "low"]),
    (("normal", np.empty(3, np.int32), {}), TypeError, ["items[2]"]),
    (("normal", np.empty(3, np.float32), {"rng": "x"}), TypeError, ["items[2]", "rng"]),
    (("normal", np.empty(3, np.float32), {"shape": 3}), TypeError, ["items[2]", "shape"]),
    (("normal", np.empty(3, np.float32), {"threads": 3}), TypeError, ["items[2]", "threads"]),
    (("normal", None, {}), TypeError, ["items[2]", "out"]),
    (("orthogonal", np.empty((3, 3), np.float32), {}), ValueError, ["items[2]", "orthogonal"]),
    ((fastinit.orthogonal, np.empty((3, 3), np.float32)), TypeError,
     ["items[2]", "orthogonal"]),
    (("normal", np.empty(3, np.complex64)), TypeError, ["items[2]", "complex"]),
    (("normal",), TypeError, ["items[2]"]),
    (("normal", np.empty(3, np.float32), [1]), TypeError, ["items[2]", "kwargs"]),
    (("xavier_uniform", np.empty(3, np.float32)), ValueError, ["items[2]", "fewer than 2"]),
    (("normal", np.empty(3, np.float32), {"bogus": 1}), TypeError, ["items[2]", "bogus"]),
])
def test_bad_item_writes_nothing(bad, exc, words):
    """A bad last item: nothing written to the earlier outputs, the Generator not advanced,
    the error names the item and the parameter."""
    g = np.random.default_rng(1)
    before = g.bit_generator.state
    good, items = _poisoned_batch(g, bad)
    with pytest.raises(exc) as info:
        fastinit.fill_many(items)
    for w in words:
        assert w in str(info.value), str(info.value)
    assert (good[0] == 7.0).all() and (good[1] == 7.0).all()
    assert g.bit_generator.state == before
    # the lock is released: the Generator can be used again
    fastinit.normal(4, rng=g)


def test_read_only_out_is_rejected_before_writing():
    g = np.random.default_rng(1)
    ro = np.empty(4, np.float32)
    ro.flags.writeable = False
    good, items = _poisoned_batch(g, ("normal", ro, {}))
    with pytest.raises(ValueError, match=r"items\[2\].*read-only"):
        fastinit.fill_many(items)
    assert (good[0] == 7.0).all()


@pytest.mark.parametrize("items", ["normal", 3, None])
def test_items_must_be_iterable_of_items(items):
    with pytest.raises(TypeError, match="items"):
        fastinit.fill_many(items)


def test_threads_validated():
    with pytest.raises(ValueError, match="threads"):
        fastinit.fill_many([("normal", np.empty(3, np.float32))], threads=0)


SCRIPT = textwrap.dedent("""
    import os, signal, threading, time
    import numpy as np
    import fastinit
    g = np.random.Generator(np.random.PCG64(1))
    state = g.bit_generator.state
    a = np.empty(700_000_000, np.float32)
    b = np.empty(700_000_000, np.float32)
    fired = []
    def fire():
        time.sleep(0.5)
        fired.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=fire, daemon=True).start()
    try:
        fastinit.fill_many([("normal", a, {"rng": g}), ("normal", b, {"rng": g})])
    except KeyboardInterrupt:
        lat = time.monotonic() - fired[0]
        head = bool(np.array_equal(a[:1000], fastinit.normal(1000, rng=1)))
        print(f"INTERRUPTED {lat:.3f} {g.bit_generator.state == state} {head}", flush=True)
    else:
        print("COMPLETED", flush=True)
""")


@pytest.mark.slow
def test_ctrl_c_interrupts_a_long_batch():
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, timeout=60,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    assert words[0] == "INTERRUPTED", proc.stdout
    assert float(words[1]) < 1.0
    assert words[2] == "True", "an interrupted batch advanced the Generator"
    assert words[3] == "True", "the first output was not being written"
