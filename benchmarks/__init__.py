"""asv benchmark suite for fastinit (see docs/performance.md, "asv").

Modules
-------
bench_samplers      warm ``out=`` fills of every sampler x dtype x size; fresh ``shape=`` fills
bench_initializers  the main initializers x dtype x size
bench_threads       thread scaling of the samplers (1, 2, all cores)
bench_overhead      per-call cost of a 64x64 float32 fill next to NumPy's Generator
bench_track         track_ benchmarks: throughput (GB/s, fraction of a plain parallel fill)
                    and extra memory (peak RSS growth during a 256 MiB fill, in a subprocess)

This file holds the helpers they share (none of them is a benchmark). With
``asv run --python=same`` the suite uses the current interpreter: fastinit is imported from
the environment, or else from this source tree when it was built in place.
"""

import concurrent.futures
import math
import os
import sys

import numpy as np

try:
    import fastinit  # noqa: F401
except ImportError:                                  # a source tree built in place
    _ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.isdir(os.path.join(_ROOT, "fastinit")) and _ROOT not in sys.path:
        sys.path.insert(0, _ROOT)
    import fastinit  # noqa: F401

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

#: Buffer sizes of the size-parametrized benchmarks, by their asv label.
SIZES = {"4KiB": 4 * KiB, "1MiB": MiB, "256MiB": 256 * MiB, "1GiB": GiB}
DTYPES = ["float32", "float64", "bfloat16"]
SAMPLERS = ["random", "uniform", "normal", "truncated_normal"]
INITIALIZERS = ["xavier_uniform", "he_uniform", "he_normal", "lecun_normal",
                "variance_scaling"]

#: Parameters each sampler / initializer is called with.
ARGS = {
    "random": {},
    "uniform": {"low": -0.1, "high": 0.1},
    "normal": {"std": 0.02},
    "truncated_normal": {"std": 0.02, "lower": -2.0, "upper": 2.0},
    "xavier_uniform": {},
    "he_uniform": {},
    "he_normal": {},
    "lecun_normal": {},
    "variance_scaling": {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
}


def function(name):
    """The fastinit function `name`; NotImplementedError (asv: skipped) if it does not exist."""
    f = getattr(fastinit, name, None)
    if f is None:
        raise NotImplementedError(f"fastinit.{name} is not in this version")
    return f


def buffer_dtype(dtype):
    """(numpy dtype of the buffer, dtype= to pass to fastinit or None).

    bfloat16 is an ml_dtypes array when ml_dtypes is installed, else a raw uint16 buffer
    filled with ``dtype="bfloat16"``.
    """
    if dtype == "bfloat16":
        try:
            import ml_dtypes
            return np.dtype(ml_dtypes.bfloat16), None
        except ImportError:
            return np.dtype(np.uint16), "bfloat16"
    return np.dtype(dtype), None


def matrix_shape(n):
    """A 2-D (out, in) shape with n elements, as square as exact divisors allow.

    Kept here rather than imported from fastinit.bench: asv also benchmarks older commits,
    which have no fastinit.bench.
    """
    if n < 4:
        return (n, 1)
    c = math.isqrt(n)
    while n % c:
        c -= 1
    return (n // c, c)


_cache = {}


def warm_buffer(nbytes, dtype):
    """A 2-D buffer of `nbytes` with every page already touched, and the fastinit dtype=.

    The last buffer is kept for the next setup of the same size and dtype: asv re-runs
    setup before each sample, and re-allocating (and re-touching) a GiB each time would
    dominate a run. Only one buffer is kept at a time.
    """
    key = (nbytes, dtype)
    if key not in _cache:
        _cache.clear()
        bdt, fi_dtype = buffer_dtype(dtype)
        buf = np.empty(nbytes // bdt.itemsize, bdt)
        parallel_fill(buf)                            # first touch, as the fills will
        _cache[key] = (buf.reshape(matrix_shape(buf.size)), fi_dtype)
    return _cache[key]


def drop_buffers():
    """Release the cached buffer."""
    _cache.clear()


def parallel_fill(buf, threads=None, executor=None):
    """Fill the bytes of `buf` with a constant from `threads` threads (NumPy drops the GIL).

    This is the memory-bandwidth reference the throughput is compared to.
    """
    threads = threads or fastinit.get_num_threads()
    raw = buf.reshape(-1).view(np.uint8)
    if raw.size % 8 == 0:
        raw = raw.view(np.uint64)
    if threads == 1:
        raw.fill(0x3F)
        return
    step = -(-raw.size // threads)
    own = executor is None
    if own:
        executor = concurrent.futures.ThreadPoolExecutor(threads)
    try:
        futures = [executor.submit(raw[i * step:(i + 1) * step].fill, 0x3F)
                   for i in range(threads)]
        for f in futures:
            f.result()
    finally:
        if own:
            executor.shutdown()


def kwargs(name, fi_dtype, **extra):
    """Keyword arguments for fastinit.`name`."""
    kw = dict(ARGS[name], **extra)
    if fi_dtype is not None:
        kw["dtype"] = fi_dtype
    return kw
