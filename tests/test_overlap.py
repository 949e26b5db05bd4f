"""`out` whose elements share memory is refused (ValueError); every layout numpy's slicing,
transposing, reversing and reshaping can make is accepted and filled like a contiguous one."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided, sliding_window_view

import fastinit

SAMPLERS = ["random", "uniform", "normal", "truncated_normal"]
INITIALIZERS = [
    lambda out: fastinit.xavier_uniform(out=out, rng=1),
    lambda out: fastinit.he_normal(out=out, rng=1),
    lambda out: fastinit.variance_scaling(out=out, rng=1),
    lambda out: fastinit.orthogonal(out=out, rng=1),
    lambda out: fastinit.eye(out=out),
    lambda out: fastinit.sparse(out=out, sparsity=0.5, rng=1),
    lambda out: fastinit.constant(out=out, value=2.0),
    lambda out: fastinit.zeros(out=out),
]


def overlapping_views():
    """(name, view, the array it lives in)."""
    base = np.zeros(4096, np.float32)
    yield "zero stride", as_strided(base, shape=(64, 8), strides=(0, 4)), base
    yield "zero stride rows", as_strided(base, shape=(8, 64), strides=(4, 0)), base
    yield "sliding window", sliding_window_view(base, 16, writeable=True)[:100], base
    yield "stride below the item", as_strided(base, shape=(100,), strides=(2,)), base
    yield "rows overlap", as_strided(base, shape=(10, 10), strides=(20, 4)), base
    yield "negative overlap", as_strided(base[200:], shape=(10, 10), strides=(-20, 4)), base
    big = np.zeros(1 << 21, np.float32)
    yield "large zero stride", as_strided(big, shape=(1 << 21, 2), strides=(4, 0)), big


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_overlapping_out_is_refused(sampler):
    for name, view, base in overlapping_views():
        with pytest.raises(ValueError, match=r"\bout\b.*share memory"):
            getattr(fastinit, sampler)(out=view, rng=1, threads=2)
        assert not base.any(), name


@pytest.mark.parametrize("k", range(len(INITIALIZERS)))
def test_overlapping_out_is_refused_by_initializers(k):
    base = np.zeros(64, np.float32)
    view = as_strided(base, shape=(8, 8), strides=(4, 0))
    with pytest.raises(ValueError, match=r"\bout\b.*share memory"):
        INITIALIZERS[k](view)
    assert not base.any()


def test_overlapping_buffer_protocol_out_is_refused():
    """A buffer-protocol object (not an ndarray) whose view overlaps."""
    base = np.zeros(64, np.float32)
    view = as_strided(base, shape=(8, 8), strides=(4, 0))
    with pytest.raises(ValueError, match="share memory"):
        fastinit.normal(out=memoryview(view), rng=1)


def random_view(r):
    """A view made by numpy operations only: slicing with steps, reversing, transposing,
    reshaping, fields of a structured array, a dtype view of a contiguous last axis."""
    ndim = int(r.integers(1, 5))
    shape = tuple(int(r.integers(1, 7)) for _ in range(ndim))
    kind = r.integers(3)
    if kind == 0:
        a = np.zeros(shape, np.float32, order="F" if r.random() < 0.3 else "C")
    elif kind == 1:
        a = np.zeros(shape, [("x", np.float32), ("y", np.float64)])["x"]
    else:
        a = np.zeros(shape + (2,), np.complex64).real[..., 0]
    for _ in range(int(r.integers(1, 4))):
        op = r.integers(4)
        if op == 0:
            ix = []
            for n in a.shape:
                step = int(r.choice([1, 2, 3, -1, -2]))
                start = int(r.integers(0, max(n, 1)))
                ix.append(slice(start, None, step) if step > 0 else slice(None, None, step))
            a = a[tuple(ix)]
        elif op == 1 and a.ndim > 1:
            a = a.transpose(r.permutation(a.ndim))
        elif op == 2 and a.size > 0:
            try:
                a = a.reshape(a.shape[::-1] if r.random() < 0.5 else (-1,), copy=False)
            except (ValueError, TypeError):
                pass        # not expressible as a view of this layout: keep the view as it is
        elif op == 3 and a.ndim > 0:
            a = np.flip(a, int(r.integers(a.ndim)))
    return a


def test_every_numpy_made_layout_is_accepted():
    r = np.random.default_rng(3)
    for i in range(400):
        view = random_view(r)
        got = fastinit.normal(out=view, rng=7)
        assert np.array_equal(got, fastinit.normal(view.shape, rng=7)), (i, view.strides)


def test_interleaved_distinct_elements_are_accepted_when_small():
    """Strides that interleave (no nesting) but never collide: checked exactly."""
    base = np.zeros(64, np.float32)
    view = as_strided(base, shape=(2, 3), strides=(12, 8))     # bytes 0 8 16 / 12 20 28
    assert np.array_equal(fastinit.normal(out=view, rng=2), fastinit.normal((2, 3), rng=2))
    view = as_strided(base, shape=(3, 2), strides=(4, 12))     # bytes 0 12 / 4 16 / 8 20
    assert np.array_equal(fastinit.uniform(out=view, rng=2), fastinit.uniform((3, 2), rng=2))


def test_refusal_does_not_depend_on_threads():
    base = np.zeros(1 << 16, np.float32)
    view = as_strided(base, shape=(1 << 16, 4), strides=(4, 0))
    for threads in (1, 2, 4):
        with pytest.raises(ValueError, match="share memory"):
            fastinit.normal(out=view, rng=1, threads=threads)
