"""Issue item 1: fastinit.random / uniform are numpy's Generator.random / uniform, bit for bit,
and a Generator is left exactly where numpy would leave it."""

import numpy as np
import pytest

import fastinit
from conftest import assert_same_bits, clone, gen

SIZES = [0, 1, 2, 3, 8, 1023, 1024, 1025, 65535, 65536, 100003]
# (float32 draws, float64 draws) made before the fill: an odd float32 count leaves numpy's
# buffered upper half in the Generator, which the next 32-bit draw must use first.
HISTORIES = [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (1, 1), (5, 3)]


@pytest.mark.parametrize("history", HISTORIES, ids=str)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_equals_generator_random(dtype, n, history):
    g = gen(20240601, *history)
    h = clone(g)
    a = np.full(n, np.nan, dtype)
    res = fastinit.random(out=a, rng=g)
    assert res is a
    want = np.full(n, np.nan, dtype)
    h.random(dtype=dtype, out=want)
    assert_same_bits(a, want, f"random n={n} history={history}")
    assert g.bit_generator.state == h.bit_generator.state
    # and the two streams go on identically afterwards, in both widths
    assert np.array_equal(g.random(3, dtype=np.float32), h.random(3, dtype=np.float32))
    assert np.array_equal(g.random(3), h.random(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_shape_argument_and_seeds_equal_default_rng(dtype):
    for rng, twin in [(0, 0), (12345, 12345), (2**100 + 7, 2**100 + 7),
                      (np.random.SeedSequence(9), np.random.SeedSequence(9))]:
        got = fastinit.random((13, 17), dtype=dtype, rng=rng)
        want = np.random.default_rng(twin).random((13, 17), dtype=dtype)
        assert got.dtype == dtype
        assert_same_bits(got, want, f"rng={rng}")


def test_bare_pcg64_bit_generator_is_consumed_like_its_generator():
    bg = np.random.PCG64(77)
    twin = np.random.Generator(np.random.PCG64(77))
    a = fastinit.random(1001, rng=bg)
    assert_same_bits(a, twin.random(1001, dtype=np.float32))
    assert bg.state == twin.bit_generator.state


def test_consecutive_fills_continue_the_stream_like_numpy():
    """Mixed widths and odd lengths, fill after fill, follow numpy call for call."""
    g, h = gen(3), gen(3)
    for n, dt in [(5, np.float32), (7, np.float64), (3, np.float32), (1, np.float32),
                  (2, np.float64), (100001, np.float32), (4, np.float64), (0, np.float32),
                  (9, np.float32)]:
        got = fastinit.random(n, dtype=dt, rng=g)
        want = h.random(n, dtype=dt)
        assert_same_bits(got, want, f"n={n} {dt}")
        assert g.bit_generator.state == h.bit_generator.state


def test_random_into_multidimensional_out_is_c_order_stream():
    g, h = gen(4, 1), gen(4, 1)
    a = np.empty((3, 5, 7), np.float32)
    fastinit.random(out=a, rng=g)
    assert_same_bits(a, h.random((3, 5, 7), dtype=np.float32))
    assert g.bit_generator.state == h.bit_generator.state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_large_matches_numpy(dtype):
    """More than 10^7 elements, and more than 2^24 so that the bridge's Ctrl-C slices (and all
    threads) are crossed; an odd count after an odd pre-draw for float32."""
    n = 2**24 + 4099
    g = gen(5, pre32=1)
    h = clone(g)
    a = np.empty(n, dtype)
    fastinit.random(out=a, rng=g)
    want = np.empty(n, dtype)
    h.random(dtype=dtype, out=want)
    assert_same_bits(a, want, "large")
    assert g.bit_generator.state == h.bit_generator.state


@pytest.mark.parametrize("low,high", [
    (0.0, 1.0), (-3.0, 5.0), (1e-3, 2e-3), (-1e300, 1e300), (-7.5, -7.25), (2.0**-1070, 2.0**-1060),
])
@pytest.mark.parametrize("history", [(0, 0), (1, 0), (2, 3)], ids=str)
def test_uniform_float64_equals_generator_uniform(low, high, history):
    g = gen(6, *history)
    h = clone(g)
    got = fastinit.uniform((301, 7), low, high, dtype=np.float64, rng=g)
    want = h.uniform(low, high, size=(301, 7))
    assert_same_bits(got, want, f"uniform({low}, {high})")
    assert g.bit_generator.state == h.bit_generator.state


def test_uniform_float64_never_reaches_high_where_numpy_does():
    """Generator.uniform can round up to `high`; fastinit documents the largest double below
    high instead, and equals numpy everywhere else."""
    low, high = 1e10, 1e10 + 1.0
    n = 4_000_000
    g = gen(7)
    want = clone(g).uniform(low, high, size=n)
    got = fastinit.uniform(n, low, high, dtype=np.float64, rng=g)
    at_high = want == high
    assert at_high.sum() > 0, "the seed is chosen so that numpy rounds up to high somewhere"
    assert got.max() < high
    assert np.array_equal(got[~at_high], want[~at_high])
    assert np.all(got[at_high] == np.nextafter(high, -np.inf))
