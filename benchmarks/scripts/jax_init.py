"""fastinit.jax vs jax.nn.initializers on the CPU backend: time to a ready jax.Array.

Usage (from the repository root)::

    python benchmarks/scripts/jax_init.py                       # 1 GiB float32, 1 warm-up + 3 runs
    python benchmarks/scripts/jax_init.py --gib 0.25 --repeats 5 --inits he_normal
    python benchmarks/scripts/jax_init.py --json results.json

Each initializer is called as ``init(key, shape)`` and timed until ``block_until_ready()``
returns; the table shows the median of ``--repeats`` runs after one untimed warm-up (which
absorbs JAX's compilation). The shape is square, (n, n) with n * n * 4 bytes = ``--gib``.
Both libraries use every core JAX/fastinit see by default (fastinit: ``--threads``).
"""

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time

import jax
import numpy as np

try:
    import fastinit
except ImportError:          # run from a source checkout built in place, not installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    import fastinit
import fastinit.jax as fj

INITS = {
    "glorot_uniform": lambda m: m.glorot_uniform(),
    "he_normal": lambda m: m.he_normal(),
    "truncated_normal": lambda m: m.truncated_normal(),
}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_one(init, key, shape, repeats):
    times = []
    for i in range(repeats + 1):
        gc.collect()
        t0 = time.perf_counter()
        a = init(key, shape)
        a.block_until_ready()
        dt = time.perf_counter() - t0
        del a
        if i:                                   # the first call is the warm-up
            times.append(dt)
    return times


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gib", type=float, default=1.0, help="tensor size in GiB (float32)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--inits", default=",".join(INITS), help="comma-separated")
    p.add_argument("--threads", type=int, default=None, help="fastinit threads")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)

    if args.threads:
        fastinit.set_num_threads(args.threads)
    n = int(math.isqrt(int(args.gib * (1 << 30)) // 4))
    shape = (n, n)
    key = jax.random.key(0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    info = {"shape": shape, "bytes": n * n * 4, "cpu": cpu_name(), "cores": os.cpu_count(),
            "fastinit_threads": fastinit.get_num_threads(), "jax": jax.__version__,
            "backend": jax.default_backend(), "simd": fastinit.simd_path(),
            "loadavg_1min_at_start": load, "repeats": args.repeats, "results": {}}
    print(f"shape {shape} float32 ({n * n * 4 / 2**30:.2f} GiB); {info['cpu']}, "
          f"{info['cores']} cores, fastinit threads {info['fastinit_threads']}, "
          f"SIMD {info['simd']}, JAX {jax.__version__} ({jax.default_backend()}); "
          f"load average {load:.1f}")
    print(f"{'initializer':<18}{'jax.nn (s)':>12}{'fastinit.jax (s)':>18}{'speed-up':>10}"
          f"{'fastinit GB/s':>15}")
    for name in args.inits.split(","):
        row = {}
        for label, module in (("jax", jax.nn.initializers), ("fastinit", fj)):
            times = time_one(INITS[name](module), key, shape, args.repeats)
            row[label] = {"median_s": statistics.median(times), "runs_s": times}
        info["results"][name] = row
        tj, tf = row["jax"]["median_s"], row["fastinit"]["median_s"]
        print(f"{name:<18}{tj:>12.3f}{tf:>18.3f}{tj / tf:>9.1f}x{n * n * 4 / tf / 1e9:>15.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(info, f, indent=2)
    return info


if __name__ == "__main__":
    main()
