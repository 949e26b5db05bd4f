"""Issue item 9: fills from many Python threads at once (the GIL is released) give the results
of sequential calls; a Generator shared between threads is consumed one fill at a time, each
fill taking a disjoint contiguous piece of its stream."""

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastinit
import reference as ref
from conftest import DTYPE_NAMES, PARAMS, SAMPLERS, assert_same_bits, clone, gen

TASKS = [
    (sampler, dtype, shape, seed, threads, kind)
    for seed, ((sampler, dtype), shape, threads, kind) in enumerate(zip(
        itertools.product(SAMPLERS, DTYPE_NAMES),
        itertools.cycle([(300, 257), (70001,), (5, 7, 3001), (1,), (33, 1000)]),
        itertools.cycle([1, 2, None]),
        itertools.cycle(["int", "generator", "block"])))
]


def run_task(task):
    sampler, dtype, shape, seed, threads, kind = task
    fn = getattr(fastinit, sampler)
    if kind == "int":
        return fn(shape, dtype=dtype, rng=seed, threads=threads, **PARAMS[sampler]), None
    if kind == "generator":
        g = gen(seed, pre32=seed % 3)
        v = fn(shape, dtype=dtype, rng=g, threads=threads, **PARAMS[sampler])
        return v, g.bit_generator.state
    gshape = (2,) + tuple(shape)
    v = fn(dtype=dtype, rng=seed, threads=threads, global_shape=gshape, index=(1,),
           **PARAMS[sampler])
    return v, None


def test_many_threads_with_their_own_rngs_equal_sequential_calls():
    tasks = TASKS * 2
    sequential = [run_task(t) for t in tasks]
    with ThreadPoolExecutor(max_workers=8) as ex:
        concurrent = list(ex.map(run_task, tasks))
    for t, (v, st), (w, su) in zip(tasks, sequential, concurrent):
        assert_same_bits(w, v, str(t))
        assert su == st


def test_fills_while_settings_change_in_another_thread():
    """Changing the SIMD path and the default thread count while fills run changes no value
    (and crashes nothing)."""
    stop = threading.Event()
    paths = fastinit.simd_supported()

    def toggler():
        for i in itertools.count():
            if stop.is_set():
                return
            fastinit.set_simd_path(paths[i % len(paths)])
            fastinit.set_num_threads([1, 2, None][i % 3])

    tasks = TASKS[:12]
    want = [run_task(t) for t in tasks]
    th = threading.Thread(target=toggler)
    th.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as ex:
            got = list(ex.map(run_task, tasks * 3))
    finally:
        stop.set()
        th.join()
    for t, (w, _), (g, _) in zip(tasks * 3, want * 3, got):
        assert_same_bits(g, w, str(t))


def _find_pieces(stream, pieces):
    """Offsets at which each piece sits in `stream`; asserts they tile it exactly."""
    offsets = []
    for p in pieces:
        cands = np.flatnonzero(stream[:stream.size - p.size + 1] == p[0])
        hits = [int(c) for c in cands if np.array_equal(ref.bits(stream[c:c + p.size]),
                                                        ref.bits(p))]
        assert len(hits) == 1, "a fill's values are not one contiguous piece of the stream"
        offsets.append(hits[0])
    spans = sorted((o, o + p.size) for o, p in zip(offsets, pieces))
    pos = 0
    for a, b in spans:
        assert a == pos, f"pieces overlap or leave a gap at word {pos}"
        pos = b
    assert pos == stream.size


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_shared_generator_hands_out_disjoint_contiguous_pieces(dtype):
    """8 threads, 24 fills of odd and even sizes from one Generator (with a buffered half at the
    start), interleaved with numpy's own Generator.random calls from the same threads: the
    pieces tile the stream and the final state is that after the total number of draws."""
    g = gen(2024, pre32=1)
    g0 = clone(g)
    sizes = [50_001 + 3 * i for i in range(24)]
    pieces = [None] * len(sizes)
    barrier = threading.Barrier(8)

    def worker(w):
        barrier.wait()
        for j in range(w, len(sizes), 8):
            if j % 4 == 3:      # numpy itself, holding the same lock
                pieces[j] = g.random(sizes[j], dtype=dtype)
            else:
                pieces[j] = fastinit.random(sizes[j], dtype=dtype, rng=g,
                                            threads=1 + j % 2)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(sizes)
    stream = g0.random(total, dtype=dtype)
    assert g.bit_generator.state == g0.bit_generator.state
    _find_pieces(stream, pieces)


def test_shared_generator_normal_pieces():
    """The same for normal float32 fills: each is the model's normal transform of a contiguous
    piece of the word stream."""
    g = gen(7, pre32=3)
    start = ref.initial_state(g)
    sizes = [40_000 + 1 + 2 * i for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as ex:
        pieces = list(ex.map(lambda n: fastinit.normal(n, rng=g), sizes))
    total = sum(sizes)
    stream = ref.normal_values(ref.words32(start, 0, total), 0.0, 1.0, -np.inf, np.inf,
                               "float32")
    assert g.bit_generator.state == ref.state_after(start, True, total)
    _find_pieces(stream, pieces)


def test_the_gil_is_released_during_a_fill():
    """A Python thread keeps running while another thread is inside a long single-threaded
    fill (at least a third of the rate it has while the main thread sleeps; a fill that held
    the GIL would stall it almost completely for each 2^24-element engine slice)."""
    import time

    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    out = np.empty(3 * 2**24, np.float32)
    fastinit.normal(out=out, rng=1, threads=1)           # touch the pages first
    th = threading.Thread(target=spin)
    th.start()
    try:
        c0, t0 = counter[0], time.perf_counter()
        time.sleep(0.3)
        base_rate = (counter[0] - c0) / (time.perf_counter() - t0)
        c0, t0 = counter[0], time.perf_counter()
        fastinit.normal(out=out, rng=2, threads=1)
        fill_rate = (counter[0] - c0) / (time.perf_counter() - t0)
    finally:
        stop.set()
        th.join()
    assert fill_rate > base_rate / 3, (fill_rate, base_rate)
