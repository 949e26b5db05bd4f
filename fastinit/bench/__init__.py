"""Throughput of fastinit side by side with the fills users would otherwise pick.

One run fills the same warm buffer with every case (``uniform``, ``normal``,
``truncated_normal`` and the ``xavier_uniform`` / ``he_normal`` / truncated-normal
``variance_scaling`` initializers), once with fastinit and once with each installed peer:

``numpy``
    ``numpy.random.Generator`` on one thread: ``random(dtype=, out=)`` for the uniform
    family, ``standard_normal(dtype=, out=)`` for the normal family (NumPy has no
    truncated normal and no initializers; these are the primitives the user would start
    from, so they are a lower bound on NumPy's cost).
``numpy-mt``
    NumPy's documented multithreaded recipe ("Multithreaded Generation" in the NumPy
    docs): ``SeedSequence.spawn`` one Generator per thread, a
    ``concurrent.futures.ThreadPoolExecutor`` fills one slice each.
``torch``
    ``torch.nn.init`` (``uniform_``, ``normal_``, ``trunc_normal_``, ``xavier_uniform_``,
    ``kaiming_normal_``) on a ``torch.from_numpy`` view of the same buffer.
``jax``
    ``jax.random`` / ``jax.nn.initializers`` on the CPU, jitted, ``block_until_ready``.
    JAX always returns a new array; it is timed as such.
``mkl_random``
    Intel's ``mkl_random`` when importable (float64 samples, copied into the buffer).
``limit``
    The memory-bandwidth limit of writing the buffer, by three methods: a parallel
    ``ndarray.fill`` (NumPy releases the GIL while filling; also on one thread, which wins for
    small buffers), the engine's plain stores and its non-temporal (streaming) stores -- the
    stores fastinit's fills use -- each by the same number of threads and timed `repeat`
    times. It is measured at the start and again right before each case's fills. On a
    shared machine single measurements vary by 2x, so every fraction of the limit uses one
    number for the whole run (per mode): the best of all these measurements, the bandwidth
    the machine was seen to reach; the table states it, the method that reached it and the
    spread of all the samples.

Throughput is bytes of the requested buffer written per second (GB = 1e9 bytes), so every
implementation is compared on the same work. The speed-up of fastinit over a peer is the
ratio of their throughputs, the fraction of the limit is fastinit's throughput over the
limit's. With ``fresh=True`` the run also measures fills that allocate their result
(``shape=``; first touch of new pages) beside the warm ``out=`` fills.

The measurement functions (`run`, `sweep`) return plain dicts (JSON-ready); `format_table`,
`format_sweep` and `plot` present them. ``python -m fastinit bench`` is the command line.
"""

import concurrent.futures
import gc
import importlib
import importlib.metadata
import importlib.util
import math
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

import fastinit
from . import _core

__all__ = [
    "CASES", "PEERS", "DTYPES", "BenchError", "parse_size", "format_size", "machine_info",
    "available_peers", "run", "sweep", "sweep_points", "format_table", "format_sweep", "plot",
    "require_matplotlib",
]

#: Case names in table order.
CASES = ("uniform", "normal", "truncated_normal", "xavier_uniform", "he_normal",
         "variance_scaling")
#: Peer names (besides fastinit itself and the bandwidth limit).
PEERS = ("numpy", "numpy-mt", "torch", "jax", "mkl_random")
#: Output dtypes the benchmark accepts.
DTYPES = ("float32", "float64", "bfloat16", "float16")

# The parameters every implementation of a case is given.
_LOW, _HIGH = -0.1, 0.1
_STD = 0.02
_TRUNC = 2.0                     # truncation bounds in std units, both sides
_TRUNC_STD_CORRECTION = 0.87962566103423978   # std of N(0,1) truncated to [-2, 2]

_FAMILY = {"uniform": "uniform", "xavier_uniform": "uniform", "normal": "normal",
           "truncated_normal": "normal", "he_normal": "normal", "variance_scaling": "normal"}

_UNITS = {"": 1, "b": 1,
          "k": 1024, "kib": 1024, "kb": 1000,
          "m": 1024 ** 2, "mib": 1024 ** 2, "mb": 1000 ** 2,
          "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3,
          "t": 1024 ** 4, "tib": 1024 ** 4, "tb": 1000 ** 4}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


class BenchError(ValueError):
    """A benchmark option that cannot be honoured (bad value, missing optional package)."""


class _Unavailable(Exception):
    """This implementation cannot run this case (the reason is reported, not raised)."""


# ---------------------------------------------------------------------------------------
# sizes, dtypes, machine
# ---------------------------------------------------------------------------------------

def parse_size(text):
    """Number of bytes in a size such as ``"1GiB"``, ``"256MiB"``, ``"4KiB"`` or ``"1e6"``.

    Parameters
    ----------
    text : str or int
        A non-negative number with an optional unit: B, KiB/MiB/GiB/TiB (powers of 1024;
        K/M/G/T are the same), KB/MB/GB/TB (powers of 1000). Case-insensitive.

    Returns
    -------
    int
        The size in bytes (at least 1).

    Raises
    ------
    BenchError
        If the text is not a size or the size is zero.
    """
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = _SIZE_RE.match(str(text))
        if not m:
            raise BenchError(f"size {text!r} is not a size; expected e.g. 1GiB, 256MiB, 4KiB, "
                             f"64KB or a number of bytes")
        value, unit = float(m.group(1)), m.group(2).lower()
    if unit not in _UNITS:
        raise BenchError(f"size {text!r} has an unknown unit {unit!r}; expected one of "
                         f"B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB")
    nbytes = int(value * _UNITS[unit])
    if nbytes < 1:
        raise BenchError(f"size {text!r} must be at least 1 byte")
    return nbytes


def format_size(nbytes):
    """A byte count as the shortest exact binary unit, e.g. ``1 GiB``, ``4 KiB``, ``1000 B``."""
    for unit, scale in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2),
                        ("KiB", 1024)):
        if nbytes >= scale:
            value = nbytes / scale
            return f"{value:g} {unit}" if value < 10000 else f"{value:.0f} {unit}"
    return f"{nbytes} B"


def _bfloat16():
    try:
        import ml_dtypes
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


def _buffer_dtype(name):
    """(numpy dtype of the buffer, dtype= to pass to fastinit or None)."""
    if name == "bfloat16":
        bf16 = _bfloat16()
        # Without ml_dtypes a raw uint16 buffer holds the bfloat16 bits.
        return (bf16, None) if bf16 is not None else (np.dtype(np.uint16), "bfloat16")
    return np.dtype(name), None


def _matrix_shape(n):
    """A 2-D (rows, cols) shape with n elements, as square as exact divisors allow."""
    if n < 4:
        return (n, 1)
    c = math.isqrt(n)
    while n % c:
        c -= 1
    return (n // c, c)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _total_memory():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_info():
    """A description of this machine and of the fastinit build, for reports.

    Returns
    -------
    dict
        ``cpu``, ``machine``, ``cpu_count``, ``usable_cores``, ``memory_bytes``,
        ``platform``, ``python``, ``fastinit``, ``numpy``, ``simd_path``,
        ``simd_supported``, ``default_threads``.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "memory_bytes": _total_memory(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "fastinit": getattr(fastinit, "__version__", "unknown"),
        "numpy": np.__version__,
        "simd_path": fastinit.simd_path(),
        "simd_supported": list(fastinit.simd_supported()),
        "default_threads": fastinit.get_num_threads(),
    }


# ---------------------------------------------------------------------------------------
# implementations: each turns (case, workload) into a zero-argument callable
# ---------------------------------------------------------------------------------------

@dataclass
class _Workload:
    """What every implementation of a case works on."""
    buf: np.ndarray          # 1-D, warm, of the buffer dtype
    shape: tuple             # 2-D (out, in) shape the initializers see
    dtype: str               # "float32", ...
    fi_dtype: object         # dtype= for fastinit (None unless a raw uint16 buffer)
    threads: int
    fresh: bool              # allocate the result in the call instead of filling buf


@dataclass
class _Prepared:
    fn: object               # zero-argument callable doing one fill
    op: str                  # what is measured, for the report
    threads: object          # threads the implementation uses (int or a description)
    cleanup: object = None   # called once when the measurements are done
    compiles: bool = False   # the first call compiles (never kept as a timed sample)
    notes: list = field(default_factory=list)


def _module(name):
    """Import and return the module of a peer (its rows record the error if this fails)."""
    return importlib.import_module(name)


_PEER_MODULE = {"numpy": "numpy", "numpy-mt": "numpy", "torch": "torch", "jax": "jax",
                "mkl_random": "mkl_random"}


def _peer_version(name):
    """Version of the peer's package, or None when it is not installed.

    Looks the package up without importing it (importing torch or JAX takes seconds); a
    package that is found but fails to import is reported as an error of its rows.
    """
    mod = _PEER_MODULE[name]
    if mod == "numpy":
        return np.__version__
    if mod in sys.modules:
        m = sys.modules[mod]
        return None if m is None else getattr(m, "__version__", "unknown")
    try:
        if importlib.util.find_spec(mod) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        return importlib.metadata.version(mod)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def available_peers():
    """Peers whose package can be imported here, in `PEERS` order."""
    return [p for p in PEERS if _peer_version(p) is not None]


def _fastinit(case, w):
    kw = {"rng": np.random.default_rng(0), "threads": w.threads}
    if w.fresh:
        kw["dtype"] = w.fi_dtype or w.dtype
        target, where = w.shape, "shape"
    else:
        if w.fi_dtype is not None:
            kw["dtype"] = w.fi_dtype
        kw["out"] = w.buf.reshape(w.shape)
        target, where = None, "out="
    if case == "uniform":
        args, shown = dict(low=_LOW, high=_HIGH), f"{_LOW}, {_HIGH}"
    elif case == "normal":
        args, shown = dict(std=_STD), f"std={_STD}"
    elif case == "truncated_normal":
        args = dict(std=_STD, lower=-_TRUNC, upper=_TRUNC)
        shown = f"std={_STD}, lower={-_TRUNC}, upper={_TRUNC}"
    elif case == "variance_scaling":
        args = dict(scale=1.0, mode="fan_in", distribution="truncated_normal")
        shown = "scale=1, mode='fan_in', distribution='truncated_normal'"
    else:
        args, shown = {}, ""
    f = getattr(fastinit, case, None)
    if f is None:
        raise _Unavailable(f"fastinit.{case} is not in this version")
    op = f"fastinit.{case}({where}{', ' + shown if shown else ''})"
    return _Prepared(lambda: f(target, **args, **kw), op, w.threads)


def _numpy(case, w):
    if w.dtype not in ("float32", "float64"):
        raise _Unavailable(f"numpy Generator has no {w.dtype} output")
    g = np.random.default_rng(0)
    dt = np.dtype(w.dtype)
    method = "random" if _FAMILY[case] == "uniform" else "standard_normal"
    draw = getattr(g, method)
    if w.fresh:
        n = w.buf.size
        return _Prepared(lambda: draw(n, dtype=dt), f"Generator.{method}(n, dtype={w.dtype})", 1)
    buf = w.buf
    return _Prepared(lambda: draw(dtype=dt, out=buf),
                     f"Generator.{method}(dtype={w.dtype}, out=)", 1)


def _numpy_mt(case, w):
    # NumPy user guide, "Multithreaded Generation": one spawned Generator per thread,
    # each filling its slice from a ThreadPoolExecutor.
    if w.dtype not in ("float32", "float64"):
        raise _Unavailable(f"numpy Generator has no {w.dtype} output")
    t = w.threads
    dt = np.dtype(w.dtype)
    method = "random" if _FAMILY[case] == "uniform" else "standard_normal"
    draws = [getattr(np.random.default_rng(s), method)
             for s in np.random.SeedSequence(0).spawn(t)]
    executor = concurrent.futures.ThreadPoolExecutor(t)
    n = w.buf.size
    step = -(-n // t)

    def fill(values):
        futures = [executor.submit(draws[i], dtype=dt, out=values[i * step:(i + 1) * step])
                   for i in range(t)]
        concurrent.futures.wait(futures)
        for fut in futures:
            fut.result()
        return values

    if w.fresh:
        fn = lambda: fill(np.empty(n, dt))                          # noqa: E731
    else:
        buf = w.buf
        fn = lambda: fill(buf)                                      # noqa: E731
    op = f"SeedSequence.spawn({t}) + ThreadPoolExecutor({t}): Generator.{method}(out=slice)"
    return _Prepared(fn, op, t, cleanup=executor.shutdown)


def _torch(case, w):
    torch = _module("torch")
    init = torch.nn.init
    tdt = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
           "bfloat16": torch.bfloat16}[w.dtype]
    fan_in = w.shape[1]                 # torch layout (out, in)
    std_vs = math.sqrt(1.0 / fan_in) / _TRUNC_STD_CORRECTION
    ops = {
        "uniform": (lambda t: init.uniform_(t, _LOW, _HIGH), f"uniform_(t, {_LOW}, {_HIGH})"),
        "normal": (lambda t: init.normal_(t, 0.0, _STD), f"normal_(t, 0, {_STD})"),
        "truncated_normal": (lambda t: init.trunc_normal_(t, 0.0, _STD, -_TRUNC * _STD,
                                                           _TRUNC * _STD),
                             f"trunc_normal_(t, 0, {_STD}, {-_TRUNC * _STD}, "
                             f"{_TRUNC * _STD})"),
        "xavier_uniform": (init.xavier_uniform_, "xavier_uniform_(t)"),
        "he_normal": (lambda t: init.kaiming_normal_(t, nonlinearity="relu"),
                      "kaiming_normal_(t, nonlinearity='relu')"),
        "variance_scaling": (lambda t: init.trunc_normal_(t, 0.0, std_vs, -_TRUNC * std_vs,
                                                          _TRUNC * std_vs),
                             "trunc_normal_(t, std=sqrt(1/fan_in)/0.8796, a=-2std, b=2std)"),
    }
    op, desc = ops[case]
    old_threads = torch.get_num_threads()
    torch.set_num_threads(w.threads)
    cleanup = lambda: torch.set_num_threads(old_threads)            # noqa: E731
    if w.fresh:
        def fn():
            t = torch.empty(w.shape, dtype=tdt)
            op(t)
            return t
        return _Prepared(fn, f"torch.nn.init.{desc} on torch.empty", w.threads, cleanup)
    raw = w.buf.view(np.uint16) if w.dtype == "bfloat16" else w.buf
    t = torch.from_numpy(raw)
    if w.dtype == "bfloat16":
        t = t.view(torch.bfloat16)
    t = t.reshape(w.shape)
    return _Prepared(lambda: op(t), f"torch.nn.init.{desc} on torch.from_numpy(buf)",
                     w.threads, cleanup)


def _jax(case, w):
    jax = _module("jax")
    import jax.numpy as jnp
    jdt = getattr(jnp, w.dtype)
    I = jax.nn.initializers
    inits = {
        "uniform": (lambda k, s, d: jax.random.uniform(k, s, d, _LOW, _HIGH),
                    f"jax.random.uniform(key, shape, dtype, {_LOW}, {_HIGH})"),
        "normal": (I.normal(_STD), f"jax.nn.initializers.normal({_STD})"),
        "truncated_normal": (I.truncated_normal(_STD, lower=-_TRUNC, upper=_TRUNC),
                             f"jax.nn.initializers.truncated_normal({_STD})"),
        "xavier_uniform": (I.glorot_uniform(), "jax.nn.initializers.glorot_uniform()"),
        "he_normal": (I.he_normal(), "jax.nn.initializers.he_normal() (truncated)"),
        "variance_scaling": (I.lecun_normal(), "jax.nn.initializers.lecun_normal() "
                                               "(variance_scaling(1, fan_in, truncated_normal))"),
    }
    init, desc = inits[case]
    shape = w.shape
    cpu = jax.devices("cpu")[0]
    key = jax.device_put(jax.random.key(0), cpu)          # jit runs where its input lives
    f = jax.jit(lambda k: init(k, shape, jdt))
    if w.dtype == "float64" and not jax.config.jax_enable_x64:
        # JAX silently computes float32 unless 64-bit mode is on: turn it on for this call only
        def fn():
            with jax.enable_x64(True):
                return f(key).block_until_ready()
        desc += " under jax.enable_x64(True)"
    else:
        fn = lambda: f(key).block_until_ready()                     # noqa: E731
    return _Prepared(fn, f"{desc}, jit, new array", "XLA default (all cores)", compiles=True)


def _mkl_random(case, w):
    mkl = _module("mkl_random")
    if case == "truncated_normal" or case == "variance_scaling":
        raise _Unavailable("mkl_random has no truncated normal")
    if w.fi_dtype is not None:
        raise _Unavailable("a raw uint16 bfloat16 buffer cannot take mkl_random's float64")
    rs = mkl.RandomState(0)
    n = w.buf.size
    rows, cols = w.shape
    if case == "uniform":
        draw, desc = (lambda: rs.uniform(_LOW, _HIGH, size=n)), f"uniform({_LOW}, {_HIGH}, n)"
    elif case == "normal":
        draw, desc = (lambda: rs.normal(0.0, _STD, size=n)), f"normal(0, {_STD}, n)"
    elif case == "xavier_uniform":
        b = math.sqrt(6.0 / (rows + cols))
        draw, desc = (lambda: rs.uniform(-b, b, size=n)), "uniform(-b, b, n)"
    else:
        s = math.sqrt(2.0 / cols)
        draw, desc = (lambda: rs.normal(0.0, s, size=n)), "normal(0, sqrt(2/fan_in), n)"
    if w.fresh:
        dt = w.buf.dtype
        return _Prepared(lambda: draw().astype(dt), f"mkl_random.RandomState.{desc}.astype()", 1)
    buf = w.buf

    def fn():
        buf[...] = draw()
        return buf
    return _Prepared(fn, f"buf[...] = mkl_random.RandomState.{desc}", 1)


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


_IMPLS = {"fastinit": _fastinit, "numpy": _numpy, "numpy-mt": _numpy_mt, "torch": _torch,
          "jax": _jax, "mkl_random": _mkl_random}


# ---------------------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------------------

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


def _check_options(size, dtype, threads, peers, cases, repeat, warmup, max_time):
    nbytes = parse_size(size) if isinstance(size, str) else size
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 1:
        raise BenchError(f"size must be a positive number of bytes or a size string, "
                         f"got {size!r}")
    if dtype not in DTYPES:
        raise BenchError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    itemsize = _buffer_dtype(dtype)[0].itemsize
    if nbytes < itemsize:
        raise BenchError(f"size {format_size(nbytes)} holds no {dtype} element")
    if threads is None:
        threads = fastinit.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise BenchError(f"threads must be a positive int, got {threads!r}")
    for name, value, low in (("repeat", repeat, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise BenchError(f"{name} must be an int >= {low}, got {value!r}")
    if (isinstance(max_time, bool) or not isinstance(max_time, (int, float, np.number))
            or not max_time > 0):
        raise BenchError(f"max_time must be a positive number of seconds, got {max_time!r}")
    peers = _resolve_peers(peers)
    if cases is None:
        cases = list(CASES)
    cases = list(cases)
    bad = [c for c in cases if c not in CASES]
    if bad or not cases:
        raise BenchError(f"unknown case(s) {', '.join(bad) or '(none given)'}; "
                         f"expected some of {', '.join(CASES)}")
    return int(nbytes), int(threads), peers, cases


def _resolve_peers(peers):
    """Peers to run: None/'auto' = the installed ones, 'none', 'all' or names (must exist)."""
    if peers is None or peers == "auto":
        return available_peers()
    if isinstance(peers, str):
        peers = [p.strip() for p in peers.split(",") if p.strip()]
    peers = [p.replace("mkl-random", "mkl_random").replace("numpy_mt", "numpy-mt")
             for p in peers]
    if peers in (["none"], []):
        return []
    if peers == ["all"]:
        peers = list(PEERS)
    bad = [p for p in peers if p not in PEERS]
    if bad:
        raise BenchError(f"unknown peer(s) {', '.join(bad)}; expected a comma list of "
                         f"{', '.join(PEERS)}, or 'auto', 'all', 'none'")
    missing = [p for p in peers if _peer_version(p) is None]
    if missing:
        raise BenchError(f"peer(s) {', '.join(missing)} requested but not importable here; "
                         f"installed peers: {', '.join(available_peers()) or 'none'}")
    return [p for p in PEERS if p in peers]           # table order, no duplicates


def _make_buffer(nbytes, dtype):
    bdt, fi_dtype = _buffer_dtype(dtype)
    n = nbytes // bdt.itemsize
    return np.empty(n, bdt), fi_dtype


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


def _progress_printer(stream):
    if stream is None:
        return lambda i, total, r: None

    def report(i, total, r):
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
    report = _progress_printer(progress)
    buf, fi_dtype = _make_buffer(nbytes, dtype)
    shape = _matrix_shape(buf.size)
    modes = [False, True] if fresh else [False]
    impls = ["fastinit"] + peers
    total = len(modes) * (1 + len(cases) * len(impls))    # progress: limit rows not counted
    results = []
    done = 0
    try:
        for is_fresh in modes:
            w = _Workload(buf, shape, dtype, fi_dtype, threads, is_fresh)
            if not is_fresh:
                # touch every page (in parallel, as the fills will) before anything is timed
                touch = _limit(w)
                touch.fn()
                if touch.cleanup is not None:
                    touch.cleanup()
            r = _measure_limit(w, timing)
            done += 1
            report(done, total, r)
            results.append(r)
            for case in cases:
                # the limit again, next to this case's fills, so that a fraction of it
                # compares two measurements taken under the same load
                r = dict(_measure_limit(w, timing), case=case)
                results.append(r)
                for impl in impls:
                    r = _measure(impl, case, lambda w, f=_IMPLS[impl], c=case: f(c, w), w,
                                 timing)
                    done += 1
                    report(done, total, r)
                    results.append(r)
    finally:
        del buf
        gc.collect()
    return {
        "machine": machine_info(),
        "config": {"size_bytes": nbytes, "elements": nbytes // _buffer_dtype(dtype)[0].itemsize,
                   "shape": list(shape), "dtype": dtype, "threads": threads, "repeat": repeat,
                   "warmup": warmup, "max_time_s": float(max_time), "fresh": bool(fresh), "peers": peers, "peers_auto": auto, "cases": cases,
                   "gb": "1e9 bytes"},
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


# ---------------------------------------------------------------------------------------
# presenting
# ---------------------------------------------------------------------------------------

def _fmt_gbps(r):
    if r is None:
        return "-"
    if "gb_per_s" in r:
        v = r["gb_per_s"]
        return f"{v:.3g}" if v < 100 else f"{v:.0f}"
    return "n/a" if "unavailable" in r else "err"


def _fmt_ratio(x):
    if x is None:
        return "-"
    return f"{x:.2g}x" if x < 10 else f"{x:.0f}x"


def _render(rows, aligns):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        cells = [c.ljust(w) if a == "<" else c.rjust(w) for c, w, a in zip(r, widths, aligns)]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def format_table(report):
    """The human-readable table of a `run` report.

    Columns: the case (``(fresh)`` for ``shape=`` fills), throughput in GB/s of fastinit,
    each peer and the limit, the speed-up of fastinit over each peer (``x <peer>``) and
    fastinit's fraction of the limit. ``n/a``: the peer cannot do this case/dtype;
    ``err``: it failed (the notes say why).
    """
    cfg, m = report["config"], report["machine"]
    peers = cfg["peers"]
    index = {(r["case"], r["impl"], r["mode"]): r for r in report["results"]}
    header = (["case", "fastinit"] + peers + ["limit"] + [f"x {p}" for p in peers]
              + ["of limit"])
    rows = [header]
    for s in report["summary"]:
        case, mode = s["case"], s["mode"]
        label = case + (" (fresh)" if mode == "fresh" else "")
        rows.append([label, _fmt_gbps(index.get((case, "fastinit", mode)))]
                    + [_fmt_gbps(index.get((case, p, mode))) for p in peers]
                    + ["-" if s.get("limit_gb_per_s") is None
                       else f"{s['limit_gb_per_s']:.2f}"]
                    + [_fmt_ratio(s["speedup"].get(p)) for p in peers]
                    + ["-" if s["fraction_of_limit"] is None
                       else f"{100 * s['fraction_of_limit']:.0f}%"])
    title = (f"fastinit bench: {format_size(cfg['size_bytes'])} {cfg['dtype']} "
             f"({cfg['elements']:,} elements, shape {tuple(cfg['shape'])}), "
             f"{cfg['threads']} thread{'s' * (cfg['threads'] > 1)}, best of {cfg['repeat']}\n"
             f"machine: {m['cpu']}, {m['usable_cores']} usable cores, SIMD {m['simd_path']}; "
             f"fastinit {m['fastinit']}, numpy {m['numpy']}"
             + "".join(f", {p} {report['peers'][p]}" for p in peers if p not in
                       ("numpy", "numpy-mt")))
    notes = _limit_notes(report) + _notes(report)
    return (title + "\nthroughput in GB/s (1e9 bytes of the buffer per second); "
            "x <peer> = fastinit speed-up\n\n" + _render(rows, "<" + ">" * (len(header) - 1))
            + ("\n\n" + "\n".join(notes) if notes else ""))


def _limit_notes(report):
    """How the limit that the fractions use was found, and how much it varied."""
    out = []
    for mode, lim in _run_limits(report["results"]).items():
        label = "" if mode == "warm" else f" ({mode})"
        method = dict(LIMIT_METHODS).get(lim["method"], lim["method"])
        out.append(f"limit{label}: {lim['gb_per_s']:.2f} GB/s ({method}), "
                   f"the best of {lim['measurements']} measurements x "
                   f"{len(LIMIT_METHODS)} methods ({', '.join(d for _, d in LIMIT_METHODS)}); "
                   f"every sample {lim['spread'][0]:.2f}-{lim['spread'][1]:.2f} GB/s. "
                   f"Every 'of limit' uses it.")
    return out


def _notes(report):
    """What each peer ran (identical operations merged), then the n/a and error reasons."""
    ops, problems = {}, {}
    for r in report["results"]:
        if "op" in r and r["mode"] == "warm" and r["impl"] != "fastinit":
            cases = ops.setdefault(r["impl"], {}).setdefault(r["op"], [])
            case = "limit" if r["impl"] == "limit" else r["case"]
            if case not in cases:
                cases.append(case)
        for what in ("unavailable", "error"):
            if what in r:
                cases = problems.setdefault((r["impl"], what, r[what]), [])
                label = r["case"] + (" (fresh)" if r["mode"] == "fresh" else "")
                cases.append(label)
    out = []
    if ops:
        out.append("what each ran (warm rows; fresh rows allocate the same way):")
        for impl, by_op in ops.items():
            for k, (op, cases) in enumerate(by_op.items()):
                where = "" if cases == ["limit"] else f"  [{', '.join(cases)}]"
                out.append(f"  {impl if k == 0 else '':<10} {op}{where}")
    if problems:
        out.append("not measured:")
        n_rows = len({(r["case"], r["mode"]) for r in report["results"]
                      if r["case"] != "limit"})
        for (impl, what, why), cases in problems.items():
            which = "all cases" if len(cases) == n_rows else ", ".join(cases)
            out.append(f"  {impl:<10} {what if what == 'error' else 'n/a'}: {why}  [{which}]")
    missing = [p for p, v in report["peers"].items() if v == "not installed"]
    if missing and report["config"].get("peers_auto"):
        out.append("peers not installed: " + ", ".join(missing))
    return out


def format_sweep(result):
    """A table of a `sweep`: one row per case x implementation, one column per point (GB/s)."""
    kind, xs = result["sweep"], result["x"]
    cols = [format_size(x) if kind == "size" else f"{x}t" for x in xs]
    keys = []
    for r in result["points"][0]["results"]:
        k = (r["case"], r["impl"], r["mode"])
        if k not in keys:
            keys.append(k)
    rows = [["case", "impl"] + cols]
    for case, impl, mode in keys:
        row = [case + (" (fresh)" if mode == "fresh" else ""),
               "plain fill" if impl == "limit" else impl]
        for p in result["points"]:
            idx = {(r["case"], r["impl"], r["mode"]): r for r in p["results"]}
            row.append(_fmt_gbps(idx.get((case, impl, mode))))
        rows.append(row)
    cfg = result["points"][0]["config"]
    title = (f"fastinit bench --sweep {kind}: {cfg['dtype']}, GB/s "
             f"({'threads ' + str(cfg['threads']) if kind == 'size' else format_size(cfg['size_bytes'])})")
    return title + "\n\n" + _render(rows, "<<" + ">" * len(cols))


def require_matplotlib():
    """Import matplotlib with the Agg backend, or raise BenchError saying how to install it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise BenchError(f"--plot needs matplotlib, which is not importable here ({exc}); "
                         f"install it with `pip install matplotlib` (or "
                         f"`pip install fastinit-weights[bench]`)") from None
    return plt


def plot(result, path):
    """Write a PNG of a `run` report (bars per case) or a `sweep` (lines, GB/s vs x).

    Parameters
    ----------
    result : dict
        From `run` or `sweep`.
    path : str or path-like
        Output file (any format matplotlib writes; ``.png`` is the intended one).

    Raises
    ------
    BenchError
        If matplotlib is not installed.
    """
    plt = require_matplotlib()
    if "sweep" in result:
        return _plot_sweep(plt, result, path)
    cfg = result["config"]
    impls = ["fastinit"] + cfg["peers"]
    index = {(r["case"], r["impl"], r["mode"]): r for r in result["results"]}
    groups = [(s["case"], s["mode"]) for s in result["summary"]]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(groups)), 4.5))
    width = 0.8 / len(impls)
    for j, impl in enumerate(impls):
        vals = [index.get((case, impl, mode), {}).get("gb_per_s", 0.0) or 0.0
                for case, mode in groups]
        ax.bar([i + (j - (len(impls) - 1) / 2) * width for i in range(len(groups))], vals,
               width, label=impl)
    for mode, style in (("warm", "--"), ("fresh", ":")):
        lim = index.get(("limit", "limit", mode), {}).get("gb_per_s")
        if lim:
            ax.axhline(lim, color="k", linestyle=style, linewidth=1,
                       label="limit" + (" (fresh)" if mode == "fresh" else ""))
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([c + ("\n(fresh)" if m == "fresh" else "") for c, m in groups],
                       rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("GB/s")
    ax.set_title(f"fastinit bench: {format_size(cfg['size_bytes'])} {cfg['dtype']}, "
                 f"{cfg['threads']} threads", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_sweep(plt, result, path):
    kind, xs = result["sweep"], result["x"]
    cfg = result["points"][0]["config"]
    cases = [c for c in cfg["cases"]]
    ncol = min(3, len(cases))
    nrow = math.ceil(len(cases) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    impls = ["fastinit"] + cfg["peers"] + ["limit"]
    modes = ["warm", "fresh"] if cfg["fresh"] else ["warm"]
    for ax, case in zip(axes.flat, cases):
        for impl in impls:
            for mode in modes:
                ys = []
                for p in result["points"]:
                    idx = {(r["case"], r["impl"], r["mode"]): r for r in p["results"]}
                    r = idx.get(("limit", "limit", mode) if impl == "limit" else
                                (case, impl, mode), {})
                    ys.append(r.get("gb_per_s", float("nan")))
                if all(math.isnan(y) for y in ys):
                    continue
                ax.plot(xs, ys, marker="o", ms=3,
                        linestyle="--" if impl == "limit" else ("-" if mode == "warm" else ":"),
                        label=impl + (" fresh" if mode == "fresh" else ""))
        ax.set_title(case, fontsize=9)
        ax.set_xscale("log", base=2)
        if kind == "size":
            ax.set_xticks(xs)
            ax.set_xticklabels([format_size(x).replace(" ", "") for x in xs], rotation=45,
                               fontsize=6)
            ax.set_xlabel("buffer size", fontsize=8)
        else:
            ax.set_xticks(xs)
            ax.set_xticklabels([str(x) for x in xs], fontsize=7)
            ax.set_xlabel("threads", fontsize=8)
        ax.set_ylabel("GB/s", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(cases):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=6)
    fig.suptitle(f"fastinit bench --sweep {kind} ({cfg['dtype']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
