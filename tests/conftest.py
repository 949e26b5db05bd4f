"""Shared helpers for the engine tests (the reference model itself is tests/reference.py)."""

import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
# Subprocesses started by tests (`python -c ...`) must import the installed fastinit, not the
# uncompiled source folder when they run from the repository root.
os.environ["PYTHONSAFEPATH"] = "1"

import fastinit  # noqa: E402
import reference as ref  # noqa: E402

DTYPE_NAMES = ("float32", "float64", "float16", "bfloat16")
SAMPLERS = ref.SAMPLERS

# Parameters that exercise each sampler away from its defaults (truncated bounds in std units).
PARAMS = {
    "random": {},
    "uniform": {"low": -0.3, "high": 0.7},
    "normal": {"mean": 0.5, "std": 2.0},
    "truncated_normal": {"mean": -0.25, "std": 0.75, "lower": -1.0, "upper": 3.0},
}


def sampler_fn(name):
    return getattr(fastinit, name)


def same_bits(a, b):
    """True when a and b have the same shape, dtype width and bit patterns."""
    a, b = np.asarray(a), np.asarray(b)
    return (a.shape == b.shape and a.dtype.itemsize == b.dtype.itemsize
            and np.array_equal(ref.bits(a), ref.bits(b)))


def assert_same_bits(got, want, what=""):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    gb, wb = ref.bits(got), ref.bits(want)
    if not np.array_equal(gb, wb):
        bad = np.argwhere(gb != wb)
        first = tuple(bad[0])
        raise AssertionError(
            f"{what}: {len(bad)} of {got.size} elements differ; first at {first}: "
            f"got {got[first]!r} (0x{int(gb[first]):x}), want {want[first]!r} "
            f"(0x{int(wb[first]):x})")


def gen(seed, pre32=0, pre64=0):
    """A PCG64 Generator after pre32 float32 draws then pre64 float64 draws (an odd pre32
    leaves numpy's buffered 32-bit half set)."""
    g = np.random.Generator(np.random.PCG64(seed))
    if pre32:
        g.random(pre32, dtype=np.float32)
    if pre64:
        g.random(pre64)
    return g


def clone(g):
    h = np.random.Generator(np.random.PCG64())
    h.bit_generator.state = g.bit_generator.state
    return h


def np_dtype(name):
    return ref.as_dtype(name)


# The path in force when the tests started (FASTINIT_SIMD may have forced one).
INITIAL_SIMD = fastinit.simd_path()


@pytest.fixture
def restore_simd():
    """Yields fastinit.set_simd_path and restores the initial path afterwards, whatever happens."""
    try:
        yield fastinit.set_simd_path
    finally:
        fastinit.set_simd_path(INITIAL_SIMD)


@pytest.fixture(autouse=True)
def _engine_defaults():
    """Every test ends with the automatic thread count and the initial SIMD path."""
    yield
    fastinit.set_num_threads(None)
    fastinit.set_simd_path(INITIAL_SIMD)


def is_finite_bound(x):
    return x is not None and math.isfinite(x)
