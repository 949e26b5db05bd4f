"""Benchmark: a large float32 tensor from fastinit.dask written to disk chunk by chunk.

Not an asv benchmark (it writes tens of GiB): run it by hand,

    .venv/bin/python benchmarks/scripts/dask_to_disk.py --size 16GiB --dir /path/on/the/disk

Every case runs in a fresh process and writes the same number of bytes through the same
path: raw ``.npy`` (``fastinit.dask.to_npy``: header + memory-mapped ``da.store``) or zarr v3
without compression (``to_zarr(compressors=None)``, empty chunks written too). The payload is
either ``fastinit.dask.normal(std=0.02)`` or plain zeros (``dask.array.zeros``, the same
chunks), so the difference is the cost of the random fill. Reported per case:

* ``store_s``: time of the store call (data handed to the OS page cache, throttled by the
  kernel's dirty-page limits once those fill up);
* ``sync_s``: the extra time of fsync on the written files (the data on the disk);
* GiB/s for both, and ``peak_rss``: the highest total resident memory of this process and
  all its children (the distributed workers), sampled every 20 ms, and ``base_rss`` before
  the store, so ``peak_rss - base_rss`` is what the write needed.

The outputs are deleted after each case (``--keep`` keeps them).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

try:
    import fastinit  # noqa: F401  (importable? else use the checkout this script is in)
except ImportError:          # run from a source checkout without installing
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

GiB = 1 << 30
MiB = 1 << 20


def parse_bytes(text):
    text = text.strip()
    for unit, mult in (("GiB", GiB), ("MiB", MiB), ("KiB", 1 << 10), ("B", 1)):
        if text.endswith(unit):
            return int(float(text[:-len(unit)]) * mult)
    return int(text)


class RssSampler:
    """Peak RSS of this process plus all its descendants, sampled in a thread."""

    def __init__(self, period=0.02):
        import psutil
        self.proc = psutil.Process()
        self.period = period
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self):
        total = 0
        for p in [self.proc] + self.proc.children(recursive=True):
            try:
                total += p.memory_info().rss
            except Exception:       # a child that just exited
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(self.period)

    def __enter__(self):
        self.peak = self.now()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def fsync_tree(path):
    paths = [path] if os.path.isfile(path) else [
        os.path.join(d, f) for d, _, files in os.walk(path) for f in files]
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def run_case(fmt, payload, scheduler, size, chunk, workers, directory, keep):
    import dask
    import dask.array as da

    import fastinit  # noqa: F811
    import fastinit.dask as fd

    cols = 16384                                  # 64 KiB rows
    rows = size // (cols * 4)
    crows = max(1, chunk // (cols * 4))
    shape, chunks = (rows, cols), (crows, cols)
    if payload == "normal":
        x = fd.normal(shape, 0.0, 0.02, chunks=chunks, rng=0)
    else:
        x = da.zeros(shape, chunks=chunks, dtype=np.float32)
    path = os.path.join(directory, f"fastinit-bench-{os.getpid()}.{fmt}")

    client = cluster = None
    if scheduler == "distributed":
        import distributed
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None,
                                           memory_limit=0)
        client = distributed.Client(cluster)
        ctx = dask.config.set(scheduler=client)
    else:
        ctx = dask.config.set(scheduler="threads", num_workers=workers)

    try:
        with ctx:
            if fmt == "npy":
                delayed = fd.to_npy(x, path, compute=False)
            else:
                import zarr
                zarr.config.set({"array.write_empty_chunks": True})
                delayed = x.to_zarr(path, compute=False, compressors=None, overwrite=True)
            load0 = os.getloadavg()[0]
            with RssSampler() as rss:
                base = rss.peak
                t0 = time.perf_counter()
                dask.compute(delayed)
                t1 = time.perf_counter()
                fsync_tree(path)
                t2 = time.perf_counter()
        nbytes = x.nbytes
        if fmt == "npy":                         # spot check: a few rows of the file
            m = np.load(path, mmap_mode="r")
            assert m.shape == shape
            if payload == "normal":
                idx = (slice(rows // 3, rows // 3 + 2), slice(None))
                want = fastinit.normal(None, 0.0, 0.02, global_shape=shape, index=idx, rng=0)
                assert np.array_equal(m[idx], want)
            del m
    finally:
        if client is not None:
            client.close()
            cluster.close()
        if not keep:
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.remove(path)
    return {
        "format": fmt, "payload": payload, "scheduler": scheduler, "workers": workers,
        "size_GiB": nbytes / GiB, "chunk_MiB": crows * cols * 4 / MiB,
        "nchunks": x.npartitions,
        "store_s": round(t1 - t0, 2), "sync_s": round(t2 - t1, 2),
        "store_GiBps": round(nbytes / GiB / (t1 - t0), 3),
        "to_disk_GiBps": round(nbytes / GiB / (t2 - t0), 3),
        "base_rss_MiB": round(base / MiB), "peak_rss_MiB": round(rss.peak / MiB),
        "extra_rss_MiB": round((rss.peak - base) / MiB),
        "loadavg_1min": [round(load0, 1), round(os.getloadavg()[0], 1)],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="16GiB", help="bytes of float32 to write (16GiB)")
    ap.add_argument("--chunk", default="256MiB", help="bytes per chunk (256MiB)")
    ap.add_argument("--workers", type=int, default=2, help="worker threads/processes (2)")
    ap.add_argument("--dir", default=".", help="where to write (deleted afterwards)")
    ap.add_argument("--formats", default="npy,zarr")
    ap.add_argument("--payloads", default="zeros,normal")
    ap.add_argument("--schedulers", default="threads,distributed")
    ap.add_argument("--keep", action="store_true", help="keep the written files")
    ap.add_argument("--case", nargs=3, metavar=("FORMAT", "PAYLOAD", "SCHEDULER"),
                    help="run one case in this process (used by the driver)")
    a = ap.parse_args(argv)
    size, chunk = parse_bytes(a.size), parse_bytes(a.chunk)
    if a.case:
        res = run_case(*a.case, size, chunk, a.workers, a.dir, a.keep)
        print(json.dumps(res), flush=True)
        return
    free = shutil.disk_usage(a.dir).free
    if free < 1.1 * size:
        sys.exit(f"not enough free space in {a.dir}: {free / GiB:.1f} GiB for {size / GiB:.1f}")
    results = []
    for sched in a.schedulers.split(","):
        for fmt in a.formats.split(","):
            for payload in a.payloads.split(","):
                cmd = [sys.executable, os.path.abspath(__file__), "--case", fmt, payload, sched,
                       "--size", a.size, "--chunk", a.chunk, "--workers", str(a.workers),
                       "--dir", a.dir] + (["--keep"] if a.keep else [])
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                res = json.loads(out.strip().splitlines()[-1])
                results.append(res)
                print(json.dumps(res), flush=True)
    print(f"\n{os.cpu_count()} CPUs; load average (1 min) before/after each case in the last "
          f"column\n")
    print("| scheduler | format | payload | store GiB/s (s) | incl. fsync GiB/s | peak RSS MiB "
          "(extra) | load |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['scheduler']} x{r['workers']} | {r['format']} | {r['payload']} | "
              f"{r['store_GiBps']} ({r['store_s']} s) | {r['to_disk_GiBps']} | "
              f"{r['peak_rss_MiB']} (+{r['extra_rss_MiB']}) | "
              f"{r['loadavg_1min'][0]}/{r['loadavg_1min'][1]} |")


if __name__ == "__main__":
    main()
