"""track_ benchmarks: throughput in GB/s, fraction of the memory-bandwidth limit, extra memory.

Throughput: the best of 3 fills of a warm 256 MiB buffer, all cores, in GB/s (1e9 bytes of
the buffer per second); the limit is a plain parallel fill of the same buffer by the same
number of threads (NumPy's ``ndarray.fill`` on slices from a thread pool).

Extra memory: peak resident memory beyond the buffer itself during a 256 MiB fill, in MiB,
measured in a fresh subprocess (``VmHWM`` of /proc/self/status, reset through
/proc/self/clear_refs where allowed; ``getrusage`` elsewhere) after one small warm-up fill,
so that the one-time costs of importing and of starting threads are not counted.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np

import fastinit

from . import DTYPES, SIZES, function, kwargs, parallel_fill, warm_buffer

_TRACKED = ["random", "uniform", "normal", "truncated_normal", "xavier_uniform", "he_normal",
            "variance_scaling"]
_SIZE = SIZES["256MiB"]


def _best_seconds(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


class Throughput:
    """GB/s of a 256 MiB fill, and its fraction of a plain parallel fill (the limit)."""

    params = (_TRACKED, DTYPES)
    param_names = ["function", "dtype"]
    timeout = 600

    def setup(self, name, dtype):
        self.fn = function(name)
        self.out, fi_dtype = warm_buffer(_SIZE, dtype)
        self.kw = kwargs(name, fi_dtype, rng=np.random.default_rng(0))
        self.fn(out=self.out, **self.kw)                      # warm-up

    def teardown(self, name, dtype):
        self.out = None

    def _gbps(self):
        return self.out.nbytes / _best_seconds(lambda: self.fn(out=self.out, **self.kw)) / 1e9

    def track_gbps(self, name, dtype):
        return self._gbps()

    track_gbps.unit = "GB/s"

    def track_fraction_of_limit(self, name, dtype):
        threads = fastinit.get_num_threads()
        with concurrent.futures.ThreadPoolExecutor(threads) as ex:
            parallel_fill(self.out, threads, ex)
            limit = self.out.nbytes / _best_seconds(
                lambda: parallel_fill(self.out, threads, ex)) / 1e9
        return self._gbps() / limit

    track_fraction_of_limit.unit = "fraction"


class Limit:
    """GB/s of the plain parallel fill itself (to read the fractions against)."""

    timeout = 300

    def setup(self):
        self.out, _ = warm_buffer(_SIZE, "float32")

    def teardown(self):
        self.out = None

    def track_limit_gbps(self):
        threads = fastinit.get_num_threads()
        with concurrent.futures.ThreadPoolExecutor(threads) as ex:
            return self.out.nbytes / _best_seconds(
                lambda: parallel_fill(self.out, threads, ex)) / 1e9

    track_limit_gbps.unit = "GB/s"


# Runs in a fresh interpreter: argv = function name, "out" | "shape", bytes; prints JSON.
_PROBE = textwrap.dedent("""
    import json, os, resource, sys
    import numpy as np
    import fastinit

    def status(key):
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return None

    def reset_peak():
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def peak():
        hwm = status("VmHWM")
        if hwm is not None:
            return hwm
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss if sys.platform == "darwin" else rss * 1024

    name, mode, nbytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    kw = json.loads(sys.argv[4])
    f = getattr(fastinit, name)
    n = nbytes // 4
    shape = (n // 1024, 1024)
    f(out=np.empty((64, 1024), np.float32), rng=0, **kw)      # warm-up: threads, code paths
    if mode == "out":
        out = np.empty(shape, np.float32)
        out.fill(1.0)                                           # touched: part of the baseline
    was_reset = reset_peak()
    base = status("VmRSS") if was_reset else peak()
    if mode == "out":
        f(out=out, rng=0, **kw)
        extra = peak() - base
    else:
        res = f(shape, rng=0, **kw)
        extra = peak() - base - res.nbytes
    print(json.dumps({"extra_bytes": extra, "peak_reset": was_reset}))
""")


def extra_memory(name, mode, nbytes=_SIZE):
    """Peak memory (bytes) beyond the result during one fill, measured in a subprocess.

    Parameters
    ----------
    name : str
        fastinit function.
    mode : {"out", "shape"}
        Fill a touched ``out=`` buffer, or let fastinit allocate the result (``shape=``).
    nbytes : int
        Size of the float32 result.
    """
    kw = kwargs(name, None)
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", _PROBE, name, mode, str(nbytes),
                           json.dumps(kw)], capture_output=True, text=True, env=env,
                          timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe failed:\n{proc.stderr}")
    return json.loads(proc.stdout)["extra_bytes"]


class ExtraMemory:
    """Peak RSS growth beyond the 256 MiB float32 result during one fill, in MiB."""

    params = (["uniform", "normal", "truncated_normal", "xavier_uniform"], ["out", "shape"])
    param_names = ["function", "mode"]
    timeout = 300

    def setup(self, name, mode):
        function(name)                                           # skip if missing

    def track_extra_memory(self, name, mode):
        return extra_memory(name, mode) / 2**20

    track_extra_memory.unit = "MiB"
