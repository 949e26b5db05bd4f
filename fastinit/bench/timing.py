"""How one implementation of one case is timed: warm-up, looping of short fills, repeats."""

import math
import statistics
import time
from dataclasses import dataclass

from .workload import _Unavailable


@dataclass(frozen=True)
class _Timing:
    """How each measurement is timed (see `run`)."""
    repeat: int = 3
    warmup: int = 1
    max_time: float = 10.0     # seconds per measurement after which no more repeats start
    long_call: float = 1.0     # a warm-up call this long is kept as a timed sample
    min_sample: float = 0.01   # short calls are looped so a sample lasts at least this


def _time_calls(fn, timing, compiles=False, max_number=100_000):
    """Seconds per call of `fn`, one entry per timed sample (at least one).

    `timing.warmup` untimed calls come first; they also give the loop count that makes a
    sample of a short fill last `timing.min_sample` (without a usable warm-up, the first
    short call is discarded and gives it). A warm-up call of `timing.long_call`
    seconds or more is kept as the first timed sample instead (at such sizes the first call
    is not measurably slower), unless `compiles` (JAX: the first call compiles). Repeats
    stop at `timing.repeat` samples, or earlier once `timing.max_time` seconds were spent.
    """
    start = time.perf_counter()
    number = 1
    times = []
    for _ in range(timing.warmup):
        t0 = time.perf_counter()
        r = fn()
        dt = time.perf_counter() - t0
        del r
        if dt >= timing.long_call and not compiles:
            times.append(dt)
            break
        if dt < timing.min_sample and not compiles:
            number = min(max_number, max(number, math.ceil(timing.min_sample / max(dt, 1e-7))))
    calibrated = number > 1
    while len(times) < timing.repeat:
        if times and time.perf_counter() - start >= timing.max_time:
            break
        if number == 1:
            t0 = time.perf_counter()
            r = fn()
            dt = time.perf_counter() - t0
            del r
            if dt < timing.min_sample and not calibrated:
                # too short to time alone (the warm-up compiled, or there was none): loop it
                number = min(max_number, math.ceil(timing.min_sample / max(dt, 1e-7)))
                calibrated = True
                if number > 1:
                    continue
        else:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            dt = (time.perf_counter() - t0) / number
        times.append(dt)
    return times, number


def _measure(impl, case, prepare, w, timing):
    """One result dict for `impl` on `case` (an ``error`` or ``unavailable`` entry if it can't)."""
    res = {"case": case, "impl": impl, "mode": "fresh" if w.fresh else "warm",
           "dtype": w.dtype, "size_bytes": w.buf.nbytes, "elements": w.buf.size}
    try:
        prep = prepare(w)
    except _Unavailable as exc:
        res["unavailable"] = str(exc)
        return res
    except Exception as exc:                 # a peer that breaks must not stop the run
        res["error"] = f"{type(exc).__name__}: {exc}"
        return res
    res["op"], res["threads"] = prep.op, prep.threads
    try:
        times, number = _time_calls(prep.fn, timing, prep.compiles)
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
        return res
    finally:
        if prep.cleanup is not None:
            prep.cleanup()
    best = min(times)
    res.update(times_s=times, calls_per_sample=number, best_s=best, median_s=statistics.median(times),
               gb_per_s=w.buf.nbytes / best / 1e9, melem_per_s=w.buf.size / best / 1e6)
    return res
