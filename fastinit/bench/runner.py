"""Running a benchmark: `run` measures every case on one buffer, `sweep` runs it over sizes or
thread counts. Both return plain dicts (JSON-ready)."""

import gc
import itertools

import fastinit
from .limit import _limit, _measure_limit, _run_limits
from .machine import machine_info
from .options import BenchError, _check_options, format_size, parse_size
from .peers import _IMPLS, PEERS, _peer_version
from .timing import _Timing, _measure
from .workload import _Workload, _buffer_dtype, _make_buffer, _matrix_shape


def _summarise(results):
    """Per (case, mode): fastinit throughput, speed-up over each peer, fraction of the run's
    limit (`_run_limits`); the limit measured next to the case is kept as ``limit_here``."""
    index = {(r["case"], r["impl"], r["mode"]): r for r in results}
    limits = _run_limits(results)
    summary = []
    for r in results:
        if r["impl"] != "fastinit":
            continue
        lim = limits.get(r["mode"], {})
        here = index.get((r["case"], "limit", r["mode"]), {})
        fi = r.get("gb_per_s")
        row = {"case": r["case"], "mode": r["mode"], "fastinit_gb_per_s": fi,
               "limit_gb_per_s": lim.get("gb_per_s"), "limit_method": lim.get("method"),
               "limit_spread_gb_per_s": lim.get("spread"),
               "limit_here_gb_per_s": here.get("gb_per_s"), "fraction_of_limit": None,
               "speedup": {}}
        if fi and lim.get("gb_per_s"):
            row["fraction_of_limit"] = fi / lim["gb_per_s"]
        for (case, impl, mode), p in index.items():
            if case == r["case"] and mode == r["mode"] and impl not in ("fastinit", "limit"):
                row["speedup"][impl] = fi / p["gb_per_s"] if fi and p.get("gb_per_s") else None
        summary.append(row)
    return summary


def _progress_printer(stream, total):
    """A function printing the next of `total` numbered progress lines, one per result it is
    given, to `stream` (None: silent)."""
    if stream is None:
        return lambda r: None
    done = itertools.count(1)

    def report(r):
        i = next(done)
        if r is None:
            return
        what = "bandwidth limit" if r["case"] == "limit" else r["case"]
        what += " (fresh)" if r["mode"] == "fresh" else ""
        if "gb_per_s" in r:
            tail = f"{r['gb_per_s']:8.2f} GB/s"
        elif "unavailable" in r:
            tail = f"     n/a  ({r['unavailable']})"
        else:
            tail = f"   error  ({r.get('error')})"
        print(f"[{i:>3}/{total}] {what:<26} {r['impl']:<10} {tail}", file=stream, flush=True)
    return report


def _touch_pages(w):
    """Write every page of the buffer (in parallel, as the fills will) before anything is timed."""
    touch = _limit(w)
    touch.fn()
    if touch.cleanup is not None:
        touch.cleanup()


def _measure_mode(w, cases, impls, timing, report):
    """The results of one mode (warm or fresh): the limit, then per case the limit again and
    every implementation. `report` is called with each result that counts for the progress."""
    if not w.fresh:
        _touch_pages(w)
    r = _measure_limit(w, timing)
    report(r)
    results = [r]
    for case in cases:
        # the limit again, next to this case's fills, so that a fraction of it
        # compares two measurements taken under the same load
        results.append(dict(_measure_limit(w, timing), case=case))
        for impl in impls:
            r = _measure(impl, case, lambda w, f=_IMPLS[impl], c=case: f(c, w), w, timing)
            report(r)
            results.append(r)
    return results


def _config(nbytes, dtype, shape, threads, timing, fresh, peers, auto, cases):
    """The ``config`` entry of a `run` report: the options as they were resolved."""
    return {"size_bytes": nbytes, "elements": nbytes // _buffer_dtype(dtype)[0].itemsize,
            "shape": list(shape), "dtype": dtype, "threads": threads, "repeat": timing.repeat,
            "warmup": timing.warmup, "max_time_s": timing.max_time, "fresh": bool(fresh),
            "peers": peers, "peers_auto": auto, "cases": cases, "gb": "1e9 bytes"}


def run(size="1GiB", dtype="float32", threads=None, peers=None, cases=None, repeat=3,
        warmup=1, max_time=10.0, fresh=False, progress=None):
    """Measure fastinit, each peer and the bandwidth limit on one buffer.

    Parameters
    ----------
    size : str or int, default "1GiB"
        Buffer size (see `parse_size`), rounded down to whole elements.
    dtype : {"float32", "float64", "bfloat16", "float16"}
        Output dtype. bfloat16 uses an ml_dtypes array when ml_dtypes is installed, else a raw
        uint16 buffer with ``dtype="bfloat16"``.
    threads : int, optional
        Threads for fastinit, the NumPy recipe, PyTorch and the limit (default
        `fastinit.get_num_threads`). JAX keeps XLA's own thread pool.
    peers : None, str or list of str
        None or "auto": every installed peer; "none"; "all"; or names from `PEERS`
        (a comma-separated string or a list). Naming a peer that is not installed is an error.
    cases : list of str, optional
        Subset of `CASES` (default all).
    repeat : int, default 3
        Timed samples per measurement; the best is reported (all are kept). Fills shorter
        than 10 ms are looped so that a sample lasts 10 ms.
    warmup : int, default 1
        Untimed calls first (JAX compiles in the first one). A warm-up call that takes a
        second or more (the buffer is already warm) is kept as the first timed sample.
    max_time : float, default 10.0
        Seconds per measurement after which no further repeat starts (at least one timed
        sample is always taken), so that slow peers do not stretch the run.
    fresh : bool, default False
        Also measure fills that allocate their result (``shape=``, first touch of the pages).
    progress : file, optional
        Where to print one line per measurement (e.g. ``sys.stderr``); None is silent.

    Returns
    -------
    dict
        ``machine`` (see `machine_info`), ``config``, ``peers`` (name -> version or the
        reason it is missing), ``results`` (one dict per case x implementation x mode with
        ``op``, ``threads``, ``times_s``, ``best_s``, ``median_s``, ``gb_per_s``,
        ``melem_per_s`` -- or ``unavailable`` / ``error`` instead of the timings; the limit
        has impl ``"limit"``, case ``"limit"`` for the first measurement and the case's name
        for the one next to it) and
        ``summary`` (per case and mode: ``fastinit_gb_per_s``, ``limit_gb_per_s``,
        ``fraction_of_limit``, ``speedup`` = {peer: fastinit / peer}).

    Raises
    ------
    BenchError
        For an option that cannot be honoured.
    """
    auto = peers is None or peers == "auto"
    nbytes, threads, peers, cases = _check_options(size, dtype, threads, peers, cases,
                                                   repeat, warmup, max_time)
    timing = _Timing(repeat=repeat, warmup=warmup, max_time=float(max_time))
    buf, fi_dtype = _make_buffer(nbytes, dtype)
    shape = _matrix_shape(buf.size)
    modes = [False, True] if fresh else [False]
    impls = ["fastinit"] + peers
    # progress: the limit measured next to each case is not counted
    report = _progress_printer(progress, len(modes) * (1 + len(cases) * len(impls)))
    results = []
    try:
        for is_fresh in modes:
            w = _Workload(buf, shape, dtype, fi_dtype, threads, is_fresh)
            results += _measure_mode(w, cases, impls, timing, report)
    finally:
        del buf
        gc.collect()
    return {
        "machine": machine_info(),
        "config": _config(nbytes, dtype, shape, threads, timing, fresh, peers, auto, cases),
        "peers": {p: (_peer_version(p) or "not installed") for p in PEERS},
        "results": results,
        "summary": _summarise(results),
    }


def sweep_points(kind, size="1GiB", threads=None):
    """The x values of a sweep.

    Parameters
    ----------
    kind : {"size", "threads"}
        "size": 4 KiB, 16 KiB, ... (powers of 4) up to `size`, plus `size` itself.
        "threads": 1, 2, 4, ... up to `threads` (default all usable), plus `threads` itself.

    Returns
    -------
    list of int
    """
    if kind == "size":
        top = parse_size(size) if isinstance(size, str) else int(size)
        pts, s = [], 4096
        while s < top:
            pts.append(s)
            s *= 4
        return pts + [top]
    if kind == "threads":
        top = fastinit.get_num_threads() if threads is None else int(threads)
        pts, t = [], 1
        while t < top:
            pts.append(t)
            t *= 2
        return pts + [top]
    raise BenchError(f"sweep must be 'size' or 'threads', got {kind!r}")


def sweep(kind, size="1GiB", threads=None, progress=None, **options):
    """`run` at every point of a size or thread sweep.

    Parameters
    ----------
    kind : {"size", "threads"}
        What varies (see `sweep_points`); the other stays at `size` / `threads`.
    size, threads :
        The largest size / thread count (and the fixed value of the other).
    progress : file, optional
        Where to print progress.
    **options
        Passed on to `run` (dtype, peers, cases, repeat, warmup, max_time, fresh).

    Returns
    -------
    dict
        ``sweep`` (the kind), ``x`` (the points), ``machine`` and ``points``: one `run`
        report per point.
    """
    _check_options(size, options.get("dtype", "float32"), threads, options.get("peers"),
                   options.get("cases"), options.get("repeat", 3), options.get("warmup", 1),
                   options.get("max_time", 10.0))
    xs = sweep_points(kind, size, threads)
    points = []
    for i, x in enumerate(xs, 1):
        if progress is not None:
            label = format_size(x) if kind == "size" else f"{x} thread{'s' * (x > 1)}"
            print(f"== sweep {i}/{len(xs)}: {label}", file=progress, flush=True)
        kw = dict(size=x, threads=threads) if kind == "size" else dict(size=size, threads=x)
        points.append(run(progress=progress, **kw, **options))
    return {"sweep": kind, "x": xs, "machine": points[0]["machine"], "points": points}
