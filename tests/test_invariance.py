"""Issue item 2: values depend only on (stream state, global index, parameters, dtype), never on
threads, SIMD path, memory layout of `out`, or how a tensor is cut into global_shape/index
blocks. Every sampler x dtype."""

import itertools
import mmap
import platform

import numpy as np
import pytest

import fastinit
import reference as ref
from conftest import (DTYPE_NAMES, PARAMS, SAMPLERS, assert_same_bits, clone, gen, np_dtype,
                      sampler_fn)

ALL = pytest.mark.parametrize("sampler,dtype", list(itertools.product(SAMPLERS, DTYPE_NAMES)))


def fill(sampler, shape=None, **kw):
    return sampler_fn(sampler)(shape, **PARAMS[sampler], **kw)


def sentinel_like(shape, dtype, order="C"):
    a = np.empty(shape, np_dtype(dtype), order=order)
    a[...] = np.nan
    return a


# ------------------------------------------------------------------------------------------
# threads
# ------------------------------------------------------------------------------------------

@ALL
def test_thread_count_never_changes_values(sampler, dtype):
    shape = (613, 401)          # 245813 elements: enough for 7 threads of >= 32768 each
    want, _ = ref.sample(sampler, shape, dtype=dtype, rng=41, **PARAMS[sampler])
    for threads in (1, 2, 3, 7, None):
        got = fill(sampler, shape, dtype=dtype, rng=41, threads=threads)
        assert_same_bits(got, want, f"threads={threads}")
    fastinit.set_num_threads(3)
    assert fastinit.get_num_threads() == 3
    assert_same_bits(fill(sampler, shape, dtype=dtype, rng=41), want, "set_num_threads(3)")


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
def test_thread_count_with_generator_consumption(threads):
    g = gen(42, pre32=1)
    h = clone(g)
    got = fastinit.normal((1000, 333), rng=g, threads=threads)
    want, after = ref.sample("normal", (1000, 333), rng=h)
    assert_same_bits(got, want)
    assert g.bit_generator.state == after


# ------------------------------------------------------------------------------------------
# SIMD paths
# ------------------------------------------------------------------------------------------

# lengths around every vector width and unroll factor, and around the engine's 1024-element chunk
LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 3001]


@ALL
def test_every_simd_path_gives_identical_bits(sampler, dtype, restore_simd):
    paths = fastinit.simd_supported()
    assert "base" in paths
    want = {n: ref.sample(sampler, n, dtype=dtype, rng=n, **PARAMS[sampler])[0] for n in LENGTHS}
    big_shape = (300, 333)
    want_big, _ = ref.sample(sampler, big_shape, dtype=dtype, rng=43, **PARAMS[sampler])
    for path in paths:
        restore_simd(path)
        assert fastinit.simd_path() == path
        for n in LENGTHS:
            assert_same_bits(fill(sampler, n, dtype=dtype, rng=n), want[n], f"{path} n={n}")
            # an output that starts 1 element past an aligned address
            buf = sentinel_like(n + 1, dtype)
            fill(sampler, out=buf[1:], dtype=dtype, rng=n)
            assert_same_bits(buf[1:], want[n], f"{path} n={n} offset by one element")
        assert_same_bits(fill(sampler, big_shape, dtype=dtype, rng=43, threads=2), want_big,
                         f"{path} threads=2")


# The normal kernel lists the draws that need its tail branch and runs that branch on the list
# only; an interval that lies entirely in one tail skips the central pass altogether.
TAIL_INTERVALS = [(4.0, 6.0), (-9.0, -2.5), (0.5, np.inf), (-np.inf, -0.9)]


@pytest.mark.parametrize("lower,upper", TAIL_INTERVALS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tail_intervals_on_every_simd_path(lower, upper, dtype, restore_simd):
    kw = dict(mean=0.25, std=1.5, lower=lower, upper=upper)
    want = {n: ref.sample("truncated_normal", n, dtype=dtype, rng=n, **kw)[0]
            for n in LENGTHS}
    for path in fastinit.simd_supported():
        restore_simd(path)
        for n in LENGTHS:
            got = fastinit.truncated_normal(n, dtype=dtype, rng=n, **kw)
            assert_same_bits(got, want[n], f"{path} n={n} [{lower}, {upper}]")


def test_simd_path_api(restore_simd):
    with pytest.raises(ValueError, match="SIMD path"):
        fastinit.set_simd_path("sse9")
    with pytest.raises(TypeError, match="name"):
        fastinit.set_simd_path(3)
    for path in fastinit._engine.SIMD_PATHS:
        if path not in fastinit.simd_supported():
            with pytest.raises(ValueError, match=path):
                fastinit.set_simd_path(path)
    restore_simd("auto")
    assert fastinit.simd_path() == fastinit.simd_supported()[-1]


X86_PATHS = {"avx2", "avx512", "avx512ifma"}
ARM_PATHS = {"neon", "sve"}


def test_simd_paths_of_each_architecture(restore_simd):
    """One list of path names (the engine's) serves every architecture; a CPU runs base and
    only paths of its own architecture, and asking for the other's is a ValueError."""
    names = fastinit._engine.SIMD_PATHS
    assert names == fastinit._core.isa_names()
    assert set(names) == {"base"} | X86_PATHS | ARM_PATHS
    supported = set(fastinit.simd_supported())
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        own, other = X86_PATHS, ARM_PATHS
    elif machine in ("aarch64", "arm64"):
        own, other = ARM_PATHS, X86_PATHS
        assert "neon" in supported          # the Armv8-A baseline
    else:
        own, other = set(), X86_PATHS | ARM_PATHS
    assert "base" in supported and supported <= {"base"} | own
    for path in other:
        with pytest.raises(ValueError, match=f"does not support the SIMD path '{path}'"):
            fastinit.set_simd_path(path)


# ------------------------------------------------------------------------------------------
# memory layout of out
# ------------------------------------------------------------------------------------------

def _views(shape, dtype):
    """(name, parent, view) triples: views of `shape` in assorted layouts; parent is the
    whole buffer the view lives in (to check nothing outside the view is written)."""
    r, c = shape
    out = []
    a = sentinel_like(shape, dtype, order="F")
    out.append(("fortran", a, a))
    p = sentinel_like((c, r), dtype)
    out.append(("transposed", p, p.T))
    p = sentinel_like((2 * r + 1, 2 * c + 3), dtype)
    out.append(("step2,-1", p, p[::2, ::-1][:r, :c]))
    p = sentinel_like((2 * r + 1, 3 * c), dtype)
    out.append(("step-2,3", p, p[::-2, ::3][:r, :c]))
    p = sentinel_like((r + 2, c + 5), dtype)
    out.append(("inner block", p, p[1:r + 1, 2:c + 2]))
    p = sentinel_like((c + 1, r), dtype, order="F")
    out.append(("F, reversed, transposed", p, p[:c][::-1].T))
    # unaligned: starts one byte into a buffer
    isz = np_dtype(dtype).itemsize
    raw = np.zeros(r * c * isz + 1, np.uint8)
    v = raw[1:].view(np_dtype(dtype)).reshape(shape)
    out.append(("unaligned", raw, v))
    return out


@ALL
def test_layout_of_out_never_changes_values(sampler, dtype):
    shape = (37, 53)
    want, _ = ref.sample(sampler, shape, dtype=dtype, rng=44, **PARAMS[sampler])
    for name, parent, view in _views(shape, dtype):
        assert view.shape == shape
        res = fill(sampler, out=view, dtype=dtype, rng=44)
        assert res is view
        assert_same_bits(view, want, name)
        if name == "unaligned":
            assert parent[0] == 0, "wrote before the start of out"
        else:
            # the parent was all NaN: exactly the view's elements are numbers now
            untouched = np.isnan(np.asarray(parent, np.float64)).sum()
            assert untouched == parent.size - view.size, f"{name}: wrote outside the view"


@ALL
def test_three_and_four_dimensional_layouts(sampler, dtype):
    want3, _ = ref.sample(sampler, (5, 6, 7), dtype=dtype, rng=45, **PARAMS[sampler])
    p = sentinel_like((7, 6, 5), dtype)
    fill(sampler, out=p.transpose(2, 1, 0), dtype=dtype, rng=45)
    assert_same_bits(p.transpose(2, 1, 0), want3, "transpose(2,1,0)")
    p = sentinel_like((11, 13, 22), dtype)
    v = p[::-2, 1::2, 3::3][:5, :6, :7]
    fill(sampler, out=v, dtype=dtype, rng=45)
    assert_same_bits(v, want3, "mixed steps")
    assert np.isnan(np.asarray(p, np.float64)).sum() == p.size - v.size
    want4, _ = ref.sample(sampler, (2, 3, 4, 5), dtype=dtype, rng=46, **PARAMS[sampler])
    p = sentinel_like((5, 4, 3, 2), dtype, order="F")
    fill(sampler, out=p.T, dtype=dtype, rng=46)
    assert_same_bits(p.T, want4, "4-D F-order transposed")
    p = sentinel_like((2, 6, 4, 10), dtype)
    v = p[:, ::-2, :, 1::2]
    fill(sampler, out=v, dtype=dtype, rng=46)
    assert_same_bits(v, want4, "4-D strided")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_raw_uint16_out_equals_typed_out(sampler, dtype):
    want, _ = ref.sample(sampler, (40, 25), dtype=dtype, rng=47, **PARAMS[sampler])
    raw = np.full((40, 25), 0xFFFF, np.uint16)
    res = fill(sampler, out=raw, dtype=dtype, rng=47)
    assert res is raw
    assert np.array_equal(raw, ref.bits(want))
    raw = np.full((25, 40), 0xFFFF, np.uint16).T
    fill(sampler, out=raw, dtype=dtype, rng=47)
    assert np.array_equal(raw, ref.bits(want))


def test_buffer_protocol_and_memmap_outs(tmp_path):
    import array

    want, _ = ref.sample("normal", 1000, rng=48)
    buf = array.array("f", [0.0] * 1000)
    fastinit.normal(out=buf, rng=48)
    assert_same_bits(np.frombuffer(buf, np.float32), want, "array.array")
    mm = np.memmap(tmp_path / "w.bin", dtype=np.float32, mode="w+", shape=(10, 100))
    fastinit.normal(out=mm, rng=48)
    mm.flush()
    assert_same_bits(np.fromfile(tmp_path / "w.bin", np.float32), want, "memmap")
    m = mmap.mmap(-1, 8000)
    fastinit.normal(out=memoryview(m).cast("d"), dtype="float64", rng=48)
    want64, _ = ref.sample("normal", 1000, dtype="float64", rng=48)
    assert_same_bits(np.frombuffer(m, np.float64), want64, "anonymous mmap")


def test_large_noncontiguous_fill_across_engine_slices():
    """An F-ordered float16 out of more than 2^24 elements (the bridge's slice length):
    threads and slices split rows that are not contiguous in memory."""
    shape = (4099, 4097)
    want = fastinit.random(shape, dtype="float16", rng=49)
    f = np.empty(shape, np.float16, order="F")
    fastinit.random(out=f, dtype="float16", rng=49, threads=3)
    assert_same_bits(f, want, "F-order")
    del f
    tail, _ = ref.sample("random", dtype="float16", rng=49, global_shape=shape,
                         index=(slice(4095, None), slice(4000, None)))
    assert_same_bits(want[4095:, 4000:], tail, "tail vs model")


# Outputs of 16 MiB and more are written with non-temporal stores (fill.c, FI_STREAM_BYTES)
# unless their pages are fresh; smaller ones with plain stores. All must give the same bits
# wherever the output starts. (sentinel_like writes its array, so its pages are in memory.)
STREAM_BYTES = 16 << 20


@ALL
def test_outputs_past_the_streaming_size_equal_small_fills(sampler, dtype):
    isz = np_dtype(dtype).itemsize
    n = STREAM_BYTES // isz + 4099                 # over the threshold, ragged end
    buf = sentinel_like(n + 3, dtype)
    out = buf[3:]                                  # 3 elements past an aligned address
    fill(sampler, out=out, dtype=dtype, rng=53, threads=2)
    assert np.all(ref.bits(buf[:3]) == ref.bits(sentinel_like(3, dtype))), "wrote before out"
    # pieces, each far below the threshold, addressed in the same global tensor
    for a in (0, 1021, n // 2 - 17, n - 5000):
        sl = slice(a, min(a + 5000, n))
        piece = fill(sampler, dtype=dtype, rng=53, global_shape=(n,), index=(sl,))
        assert piece.nbytes < STREAM_BYTES
        assert_same_bits(out[sl], piece, f"elements {sl}")
    want, _ = ref.sample(sampler, dtype=dtype, rng=53, global_shape=(n,),
                         index=(slice(n - 3000, n),), **PARAMS[sampler])
    assert_same_bits(out[n - 3000:], want, "tail vs model")
    assert_same_bits(fill(sampler, n, dtype=dtype, rng=53, threads=3), out, "threads=3")


@pytest.mark.parametrize("touched", [True, False], ids=["touched", "fresh"])
def test_large_uniform_float32_equals_numpy(touched):
    """numpy's own Generator.random over a whole output past the streaming size: memory
    already written (non-temporal stores) and never touched (plain stores on fresh pages)."""
    n = STREAM_BYTES // 4 + 777
    m = mmap.mmap(-1, 4 * (n + 1))             # anonymous: untouched until written
    buf = np.frombuffer(m, np.float32)
    if touched:
        buf.fill(np.nan)
    fastinit.random(out=buf[1:], rng=np.random.Generator(np.random.PCG64(54)))
    want = np.random.Generator(np.random.PCG64(54)).random(n, dtype=np.float32)
    assert_same_bits(buf[1:], want)
    assert np.isnan(buf[0]) if touched else ref.bits(buf[:1])[0] == 0, "wrote before out"
    del buf
    m.close()


# Fresh contiguous outputs of 1 MiB and more have their pages mapped ahead of the writes
# (fill.c, MADV_POPULATE_WRITE on page-rounded ranges of each thread's share): the values are
# unchanged, and the bytes that share the first and last pages with out are left alone.
@pytest.mark.parametrize("sampler, dtype", [("uniform", "float32"), ("normal", "float64"),
                                            ("truncated_normal", "bfloat16")])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_fresh_outputs_equal_small_fills_and_leave_neighbours_alone(sampler, dtype, threads):
    isz = np_dtype(dtype).itemsize
    n = (3 << 20) // isz + 1001                    # 3 MiB and a ragged end
    lead, trail = 37, 53                           # elements before and after out, same pages
    m = mmap.mmap(-1, isz * (lead + n + trail))    # anonymous: untouched until written
    buf = np.frombuffer(m, np.uint16 if dtype == "bfloat16" else np_dtype(dtype))
    out = buf[lead:lead + n]
    fill(sampler, out=out, dtype=dtype, rng=55, threads=threads)
    assert not ref.bits(buf[:lead]).any() and not ref.bits(buf[lead + n:]).any(), \
        "wrote outside out"
    for a in (0, n // 3 - 11, n - 4000):
        sl = slice(a, a + 4000)
        piece = fill(sampler, dtype=dtype, rng=55, global_shape=(n,), index=(sl,))
        assert_same_bits(out[sl].view(piece.dtype), piece, f"elements {sl}")
    want, _ = ref.sample(sampler, dtype=dtype, rng=55, global_shape=(n,),
                         index=(slice(n - 3000, n),), **PARAMS[sampler])
    assert_same_bits(out[n - 3000:].view(want.dtype), want, "tail vs model")
    del buf, out
    m.close()


# ------------------------------------------------------------------------------------------
# global_shape / index tilings
# ------------------------------------------------------------------------------------------

def _cuts(n, points):
    pts = sorted(set([0, n] + [p for p in points if 0 < p < n]))
    return [slice(a, b) for a, b in zip(pts[:-1], pts[1:])]


def _tilings():
    """(name, global_shape, list of index tuples that together cover the tensor once)."""
    t = []
    t.append(("1-D offsets", (10007,),
              [(s,) for s in _cuts(10007, [1, 2, 1000, 1024, 1025, 4097, 9999])]))
    t.append(("2-D grid", (37, 53),
              [(r, c) for r in _cuts(37, [5, 20]) for c in _cuts(53, [1, 30])]))
    # a full-width band on top; below it a narrow column cut in two and a wide one
    irregular = [(slice(0, 10),), (slice(10, 25), slice(0, 7)), (slice(25, 37), slice(0, 7)),
                 (slice(10, 37), slice(7, 53))]
    t.append(("2-D irregular", (37, 53), irregular))
    t.append(("2-D int rows", (9, 31), [(i,) for i in range(9)]))
    t.append(("2-D int columns", (9, 31), [(slice(None), j) for j in range(31)]))
    t.append(("1-D interleaved step 3", (1000,), [(slice(s, None, 3),) for s in range(3)]))
    t.append(("2-D stepped", (20, 30),
              [(slice(r, None, 2), slice(c, None, 3)) for r in range(2) for c in range(3)]))
    t.append(("3-D blocks", (6, 7, 8),
              [(a, b, c) for a in _cuts(6, [2]) for b in _cuts(7, [3, 4]) for c in _cuts(8, [5])]))
    t.append(("4-D blocks", (3, 4, 5, 6),
              [(a, b, c, d) for a in _cuts(3, [1]) for b in _cuts(4, [2])
               for c in _cuts(5, [4]) for d in _cuts(6, [3])]))
    t.append(("4-D ints and slices", (3, 4, 5, 6),
              [(i, b, -1 - k) for i in range(3) for b in _cuts(4, [1]) for k in range(5)]))
    return t


TILINGS = _tilings()


def _assemble(gshape, dtype, pieces):
    full = sentinel_like(gshape, dtype)
    seen = np.zeros(gshape, np.int64)
    for index, block in pieces:
        full[index] = block
        seen[index] += 1
    assert np.all(seen == 1), "the tiling must cover every element exactly once"
    return full


@pytest.mark.parametrize("name,gshape,tiles", TILINGS, ids=[t[0] for t in TILINGS])
@ALL
def test_block_tilings_reassemble_to_the_full_fill(sampler, dtype, name, gshape, tiles):
    want = fill(sampler, gshape, dtype=dtype, rng=50)
    pieces = []
    for index in tiles:
        block = fill(sampler, dtype=dtype, rng=50, global_shape=gshape, index=index)
        assert block.shape == want[index].shape
        pieces.append((index, block))
        # the same block written through `out` in a strided layout
        if block.ndim == 2:
            p = sentinel_like((block.shape[1], block.shape[0]), dtype)
            fill(sampler, out=p.T, dtype=dtype, rng=50, global_shape=gshape, index=index)
            assert_same_bits(p.T, block, f"{name} {index} into a transposed out")
    assert_same_bits(_assemble(gshape, dtype, pieces), want, name)


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
def test_blocks_read_but_never_advance_a_generator(dtype):
    """With a buffered half present, blocks at odd and even offsets equal the full fill that
    the same Generator produces when it is consumed."""
    g = gen(51, pre32=1)
    state = g.bit_generator.state
    full = fastinit.normal((64, 65), dtype=dtype, rng=clone(g))
    for index in [(slice(0, 1),), (slice(1, 2),), (slice(3, 64, 5), slice(1, None, 2)),
                  (7, slice(13, 14)), (slice(None), 0)]:
        block = fastinit.normal(dtype=dtype, rng=g, global_shape=(64, 65), index=index)
        assert_same_bits(block, full[index], str(index))
        assert g.bit_generator.state == state
    whole = fastinit.normal(dtype=dtype, rng=g, global_shape=(64, 65))
    assert_same_bits(whole, full, "global_shape without index")
    assert g.bit_generator.state == state


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("step", [1, 2, 3, 1023, 1024, 1025, 5000])
@pytest.mark.parametrize("start", [0, 1])
def test_stepped_index_gathers_the_right_words(dtype, step, start):
    n = 60000
    g = gen(52, pre32=1)
    full = fastinit.normal(n, dtype=dtype, rng=clone(g))
    got = fastinit.normal(dtype=dtype, rng=g, global_shape=(n,),
                          index=(slice(start, None, step),))
    assert_same_bits(got, full[start::step], f"step {step}")


@ALL
def test_block_with_threads_and_negative_strides(sampler, dtype):
    gshape = (700, 800)
    index = (slice(3, 650, 1), slice(11, 790, 2))
    want = fill(sampler, gshape, dtype=dtype, rng=53)[index]
    p = sentinel_like((want.shape[0] * 2, want.shape[1] + 1), dtype)
    v = p[::-2, :-1][:, ::-1]
    fill(sampler, out=v, dtype=dtype, rng=53, threads=3, global_shape=gshape, index=index)
    assert_same_bits(v, want)


def test_zero_size_fills():
    g = gen(54, pre32=1)
    state = g.bit_generator.state
    for sampler in SAMPLERS:
        for shape in [(0,), (3, 0), (0, 5, 2)]:
            a = fill(sampler, shape, rng=g)
            assert a.shape == shape
        b = fill(sampler, rng=g, global_shape=(4, 5), index=(slice(2, 2),))
        assert b.shape == (0, 5)
    assert g.bit_generator.state == state
