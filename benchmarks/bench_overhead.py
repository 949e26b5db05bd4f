"""Per-call cost of small fills: a 64x64 float32 buffer, fastinit next to NumPy's Generator.

No setup method: asv then times many calls per sample (with a setup it re-runs the setup
before every call and times one call at a time, which is too coarse for microseconds).
"""

import timeit

import numpy as np

import fastinit

_OUT = np.zeros((64, 64), np.float32)
_RNG = np.random.default_rng(0)
_NP_RNG = np.random.default_rng(0)


def time_fastinit_random_64x64():
    fastinit.random(out=_OUT, rng=_RNG)


def time_numpy_random_64x64():
    _NP_RNG.random(dtype=np.float32, out=_OUT)


def time_fastinit_normal_64x64():
    fastinit.normal(out=_OUT, rng=_RNG)


def time_numpy_standard_normal_64x64():
    _NP_RNG.standard_normal(dtype=np.float32, out=_OUT)


if hasattr(fastinit, "xavier_uniform"):              # the initializers landed after 0.1.0
    def time_fastinit_xavier_uniform_64x64():
        fastinit.xavier_uniform(out=_OUT, rng=_RNG)


def track_random_64x64_vs_numpy():
    """fastinit.random(out=) time over Generator.random(out=) time, 64x64 float32 (target <= 1)."""
    fi = min(timeit.repeat(time_fastinit_random_64x64, number=2000, repeat=7))
    ref = min(timeit.repeat(time_numpy_random_64x64, number=2000, repeat=7))
    return fi / ref


track_random_64x64_vs_numpy.unit = "ratio"
