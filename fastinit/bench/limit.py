"""The memory-bandwidth limit: a plain write of the buffer, measured by several methods.

A run measures it at the start and next to each case (`_measure_limit`); every fraction of
the limit uses the run's limit, the best of all those measurements (`_run_limits`).
"""

import concurrent.futures

import numpy as np

from .. import _core
from .timing import _measure
from .workload import _Prepared


#: How the limit is measured: (name, description); see `_limit`.
LIMIT_METHODS = (("fill", "ndarray.fill"), ("store", "engine plain stores"),
                 ("stream", "engine non-temporal stores"))
_PATTERN = 0x3F003F003F003F00


def _limit(w, threads=None, method="fill"):
    """A plain write of the buffer by `threads` threads: what memory bandwidth allows.

    ``fill``: ``ndarray.fill`` on slices from a thread pool; ``store``/``stream``: the
    engine's plain or non-temporal stores of a pattern (`fastinit._core.store_fill`).
    """
    t = w.threads if threads is None else threads
    n = w.buf.nbytes
    word = np.uint64 if n % 8 == 0 else np.uint8
    if method in ("store", "stream"):
        nt = method == "stream"

        def fill(raw):
            _core.store_fill(raw, _PATTERN, t, nt)
            return raw
        how = f"{t} thread{'s' * (t > 1)} " + dict(LIMIT_METHODS)[method]
        executor = None
    else:
        executor = concurrent.futures.ThreadPoolExecutor(t) if t > 1 else None
        value = word(_PATTERN if word is np.uint64 else 0x3F)

        def fill(raw):
            if executor is None:
                raw.fill(value)
                return raw
            step = -(-raw.size // t)
            futures = [executor.submit(raw[i * step:(i + 1) * step].fill, value)
                       for i in range(t)]
            concurrent.futures.wait(futures)
            for fut in futures:
                fut.result()
            return raw
        how = "ndarray.fill" if t == 1 else f"{t} threads ndarray.fill(slice)"
    if w.fresh:
        fn = lambda: fill(np.empty(n // np.dtype(word).itemsize, word))  # noqa: E731
        op = f"np.empty + {how}"
    else:
        raw = w.buf.view(np.uint8).view(word)
        fn = lambda: fill(raw)                                      # noqa: E731
        op = f"{how} of the same buffer"
    return _Prepared(fn, op, t, cleanup=None if executor is None else executor.shutdown)


def _measure_limit(w, timing):
    """The limit here: the best of every method (and of one thread for ndarray.fill, faster
    for small buffers), with every sample kept (``samples_gb_per_s``) for the spread."""
    tries = []
    for method, _ in LIMIT_METHODS:
        counts = [w.threads, 1] if method == "fill" and w.threads > 1 else [w.threads]
        for t in counts:
            r = _measure("limit", "limit", lambda w, t=t, m=method: _limit(w, t, m), w, timing)
            r["method"] = method
            tries.append(r)
    ok = [r for r in tries if "gb_per_s" in r]
    if not ok:
        return tries[0]
    best = dict(max(ok, key=lambda r: r["gb_per_s"]))
    best["tried"] = {f"{r['method']}/{r['threads']}": r.get("gb_per_s") for r in tries}
    best["samples_gb_per_s"] = [r["gb_per_s"] * r["best_s"] / x for r in ok
                                for x in r["times_s"]]
    return best


def _run_limits(results):
    """Per mode: the run's limit (the best limit measurement), its method, and the spread
    (min, max) of every limit sample."""
    out = {}
    for r in results:
        if r["impl"] != "limit" or "gb_per_s" not in r:
            continue
        cur = out.get(r["mode"])
        samples = r.get("samples_gb_per_s") or [r["gb_per_s"]]
        if cur is None:
            cur = out[r["mode"]] = {"gb_per_s": r["gb_per_s"], "method": r.get("method"),
                                    "spread": [min(samples), max(samples)], "measurements": 0}
        elif r["gb_per_s"] > cur["gb_per_s"]:
            cur["gb_per_s"], cur["method"] = r["gb_per_s"], r.get("method")
        cur["spread"] = [min(cur["spread"][0], *samples), max(cur["spread"][1], *samples)]
        cur["measurements"] += 1
    return out
