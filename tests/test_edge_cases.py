"""Edge cases of parameters, shapes and settings that the other files do not reach."""

import math

import numpy as np
import pytest

import fastinit
import reference as ref
from conftest import DTYPE_NAMES, SAMPLERS, assert_same_bits

INF = math.inf


def rounded(x, dtype):
    """x (a float64) rounded once to the nearest value of dtype (ties to even)."""
    return np.array([ref.dtype_nearest(x, dtype)]).astype(ref.as_dtype(dtype))


# ------------------------------------------------------------------------------------------
# std = 0: the constant mean
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("mean", [0.0, 0.5, -2.0, 1e3])
@pytest.mark.parametrize("sampler", ["normal", "truncated_normal"])
def test_std_zero_with_representable_mean(sampler, mean, dtype):
    x = getattr(fastinit, sampler)(100, mean=mean, std=0.0, dtype=dtype, rng=1)
    assert np.all(x.astype(np.float64) == mean)


@pytest.mark.parametrize("sampler", ["normal", "truncated_normal"])
def test_std_zero_gives_the_mean_rounded_to_the_dtype(sampler):
    """normal(mean=m, std=0) is the constant m rounded to the dtype (numpy's
    Generator.normal(0.1, 0.0) is 0.1; torch.nn.init.normal_(w, 0.1, 0.0) fills 0.1).
    The engine raises "no float32 value lies in [mean + std*lower, mean + std*upper]"
    because the clamp bounds become ceil(m) > floor(m) when m is not representable."""
    failures = []
    for dtype in DTYPE_NAMES:
        for mean in (0.1, 1.0 / 3.0, -2.7, 1.00390625 + 1e-12, 65519.99):
            try:
                x = getattr(fastinit, sampler)(100, mean=mean, std=0.0, dtype=dtype, rng=1)
                assert_same_bits(x, np.repeat(rounded(mean, dtype), 100))
            except (ValueError, AssertionError) as exc:
                failures.append(f"{dtype} mean={mean}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


# ------------------------------------------------------------------------------------------
# uniform over ranges wider than the compute type
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("low,high", [(-3e38, 3e38), (-2e38, 2e38), (0.0, 3.4e38)])
def test_uniform_float32_range_wider_than_float32_max(low, high):
    """high - low is finite in float64 but not in float32. Either a ValueError naming
    low/high, or a uniform sample: finite, inside [low, high), spread over the interval.
    The engine computes float32(high - low) = inf, so every value is clamped to the largest
    float32 below high, and u = 0 (word < 256) gives low + inf * 0 = NaN."""
    try:
        x = fastinit.uniform(100_000, low, high, rng=5)
    except ValueError as exc:
        assert "low" in str(exc) or "high" in str(exc)
        return
    # the first word is 0: u = 0 must give low (rounded up into the dtype), not NaN
    first = fastinit.uniform(1, low, high, rng=ref.generator_with_words(0))
    assert first[0] == np.float32(ref.dtype_ceil(low, "float32")), f"u = 0 gave {first[0]}"
    x = x.astype(np.float64)
    assert np.all(np.isfinite(x)), "NaN or inf in a uniform sample"
    assert x.min() >= low and x.max() < high
    # a uniform sample of 10^5: mean within 1% of the range of the midpoint (z > 10),
    # fewer than half the values equal
    assert abs(x.mean() - (low + high) / 2) < 0.01 * (high - low)
    assert np.unique(x).size > 50_000


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_uniform_half_range_of_the_half_dtype(dtype):
    """Bounds inside the dtype's range: every value finite and inside them; bounds beyond
    float16's range are refused (they would need values that float16 cannot hold)."""
    x = fastinit.uniform(100_000, -1e5, 1e5, dtype="bfloat16", rng=6).astype(np.float64)
    assert np.all(np.isfinite(x)) and x.min() >= -1e5 and x.max() < 1e5
    x = fastinit.uniform(100_000, -65504, 65504, dtype=dtype, rng=6).astype(np.float64)
    assert np.all(np.isfinite(x)) and x.min() >= -65504 and x.max() < 65504
    with pytest.raises(ValueError, match="low"):
        fastinit.uniform(10, -1e5, 1e5, dtype="float16", rng=6)


# ------------------------------------------------------------------------------------------
# threads
# ------------------------------------------------------------------------------------------

def test_threads_beyond_c_int():
    """threads=2**40 passes validation (an int >= 1) but the bridge's C int cannot hold it:
    an OverflowError from Cython. Either clamp it or raise a ValueError naming threads."""
    try:
        x = fastinit.normal(10, threads=2**40, rng=1)
    except ValueError as exc:
        assert "threads" in str(exc)
        return
    assert np.array_equal(x, fastinit.normal(10, rng=1))


def test_omp_num_threads_sets_the_default(monkeypatch):
    """OMP_NUM_THREADS (read again by set_num_threads(None)) or else the CPU affinity."""
    import os

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    fastinit.set_num_threads(None)
    assert fastinit.get_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "5,2")
    fastinit.set_num_threads(None)
    assert fastinit.get_num_threads() == 5
    fastinit.set_num_threads(2)
    assert fastinit.get_num_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "garbage")
    fastinit.set_num_threads(None)
    assert fastinit.get_num_threads() == len(os.sched_getaffinity(0))


def test_more_threads_than_elements():
    for n in (1, 5, 100):
        assert_same_bits(fastinit.normal(n, rng=3, threads=64),
                         ref.sample("normal", n, rng=3)[0])


# ------------------------------------------------------------------------------------------
# shapes and addressing at the extremes
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sampler", SAMPLERS)
def test_zero_dimensional(sampler):
    want, _ = ref.sample(sampler, (), rng=1)
    a = getattr(fastinit, sampler)((), rng=1)
    assert a.shape == () and a.dtype == np.float32
    assert_same_bits(a, want)
    out = np.full((), np.nan, np.float32)
    assert getattr(fastinit, sampler)(out=out, rng=1) is out
    assert_same_bits(out, want)
    b = getattr(fastinit, sampler)(rng=1, global_shape=(), index=())
    assert_same_bits(b, want)
    c = getattr(fastinit, sampler)(rng=1, global_shape=(4, 5), index=(2, 3))
    assert c.shape == ()
    assert_same_bits(c, ref.sample(sampler, (4, 5), rng=1)[0][2, 3])


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
def test_blocks_of_a_virtual_tensor_near_2_to_63(dtype):
    """Word and draw indices close to 2^63 (64-bit jumps of the stream)."""
    g = np.random.Generator(np.random.PCG64(11))
    g.random(1, dtype=np.float32)                 # buffered half set
    state = ref.initial_state(g)
    for gshape, index in [((2**63 - 1,), (slice(2**63 - 5, None),)),
                          ((2**62 - 1, 2), (slice(2**62 - 3, None), 1)),
                          ((3, 2**61, 1), (slice(None), slice(2**60, 2**60 + 3), 0)),
                          ((2**40, 2**22), (slice(2**39, 2**39 + 2), slice(None, None, 2**20)))]:
        want, _ = ref.sample("normal", dtype=dtype, rng=state, global_shape=gshape, index=index)
        got = fastinit.normal(dtype=dtype, rng=g, global_shape=gshape, index=index)
        assert_same_bits(got, want, f"{gshape} {index}")
    assert g.bit_generator.state == state


def test_truncation_at_infinity_is_the_normal_sampler():
    for dtype in DTYPE_NAMES:
        assert_same_bits(fastinit.truncated_normal(5000, lower=-INF, upper=INF, dtype=dtype,
                                                   rng=2),
                         fastinit.normal(5000, dtype=dtype, rng=2), dtype)


def test_rng_none_draws_fresh_entropy():
    a = fastinit.normal(64, rng=None)
    b = fastinit.normal(64, rng=None)
    c = fastinit.normal(64)
    assert not np.array_equal(a, b) and not np.array_equal(b, c)


def test_result_is_a_new_c_contiguous_array_of_the_dtype():
    for dtype in DTYPE_NAMES:
        a = fastinit.uniform((3, 4, 5), dtype=dtype, rng=1)
        assert a.flags.c_contiguous and a.flags.writeable and a.flags.owndata
        assert a.dtype == ref.as_dtype(dtype) and a.shape == (3, 4, 5)


def _child(code, **env):
    import os
    import subprocess
    import sys

    e = dict(os.environ, **env)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    e["PYTHONPATH"] = root + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-W", "always", "-c", code], env=e,
                          capture_output=True, text=True, timeout=60)


def test_fastinit_simd_environment_variable():
    """FASTINIT_SIMD forces a path at import; an unknown or unsupported one warns and falls
    back to the best path; values never change."""
    code = ("import fastinit, numpy as np; x = fastinit.normal(5000, rng=1); "
            "print(fastinit.simd_path(), x.view(np.uint32).sum(dtype=np.uint64))")
    auto = _child(code)
    assert auto.returncode == 0, auto.stderr
    best, checksum = auto.stdout.split()
    for path in fastinit.simd_supported():
        r = _child(code, FASTINIT_SIMD=path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [path, checksum]
    r = _child(code, FASTINIT_SIMD="sse9")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [best, checksum]
    assert "FASTINIT_SIMD" in r.stderr and "RuntimeWarning" in r.stderr
