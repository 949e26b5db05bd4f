"""Engine settings: thread count and the SIMD path (which never changes values), and the
build's configuration (`show_config`)."""

import os
import sys
import threading
import warnings

from . import _core

_lock = threading.Lock()
_num_threads = None
_default_threads = None
# A cap set through threadpoolctl (threadpool_limits), None when there is none, and the
# default count when the outermost limit was set (what threadpoolctl restores at its end).
_limit = None
_limit_base = None

# base, the x86 paths, then the Arm paths (each slowest first), from the engine's own list; a
# CPU runs base and some of its own architecture's paths.
SIMD_PATHS = _core.isa_names()


def _usable_cores():
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env:
        try:
            n = int(env)
            if n >= 1:
                return n
        except ValueError:
            pass
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _unlimited_threads():
    global _default_threads
    n = _num_threads
    if n is not None:
        return n
    if _default_threads is None:
        _default_threads = _usable_cores()
    return _default_threads


def get_num_threads():
    """Number of threads a fill uses when ``threads`` is not given.

    Defaults to ``OMP_NUM_THREADS`` when set, otherwise to the cores this process may run
    on (its CPU affinity); `set_num_threads` overrides that, and
    ``threadpoolctl.threadpool_limits(n)`` caps it while it is in force. Fills of fewer than
    32768 elements per thread use fewer threads.
    """
    n = _unlimited_threads()
    limit = _limit
    return n if limit is None else min(n, limit)


def set_num_threads(n):
    """Set the default thread count for fills; ``None`` restores the automatic choice."""
    global _num_threads, _default_threads
    if n is not None:
        n = check_threads(n, name="n")
    with _lock:
        _num_threads = n
        _default_threads = None      # re-read OMP_NUM_THREADS and the affinity


def check_threads(threads, name="threads"):
    if isinstance(threads, bool) or not hasattr(threads, "__index__"):
        raise TypeError(f"{name} must be a positive int or None, got {type(threads).__name__}")
    threads = int(threads)
    if threads < 1:
        raise ValueError(f"{name} must be >= 1, got {threads}")
    return threads


# More threads than this are never started (the engine also caps them by the work).
MAX_THREADS = 1 << 12


def resolve_threads(threads):
    if threads is None:
        return min(get_num_threads(), MAX_THREADS)
    return min(check_threads(threads), MAX_THREADS)


def simd_path():
    """The instruction-set path the kernels run on.

    'base' (portable C), on x86-64 'avx2', 'avx512' or 'avx512ifma', on aarch64 'neon' or 'sve'.
    """
    return _core.isa_current()


def simd_supported():
    """Paths this CPU can run (every one gives identical values)."""
    return tuple(p for p in SIMD_PATHS if _core.isa_supported(p))


def set_simd_path(name):
    """Force a SIMD path ('auto' picks the best). Raises ValueError if this CPU lacks it."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    rc = _core.isa_select(name)
    if rc == -1:
        raise ValueError(f"unknown SIMD path {name!r}; expected 'auto' or one of {SIMD_PATHS}")
    if rc == -2:
        raise ValueError(f"this CPU does not support the SIMD path {name!r}; "
                         f"supported: {simd_supported()}")


def _set_limit(n):
    """threadpoolctl's setter: cap the default thread count at `n`. threadpoolctl ends a
    limit by setting the count it read before; reaching the count from before the outermost
    limit removes the cap, so none is left behind (even if `set_num_threads` was called
    meanwhile)."""
    global _limit, _limit_base
    n = max(int(n), 1)
    with _lock:
        if _limit is None:
            _limit_base = _unlimited_threads()
        if n >= _limit_base:
            _limit = _limit_base = None
        else:
            _limit = n


def _register_threadpoolctl():
    """Make ``threadpoolctl`` list fastinit and apply its limits to fastinit's fills.

    Done at import when threadpoolctl (3.5 or newer, which has ``register``) is installed.
    The controller finds the extension module among the loaded libraries by one of the
    engine's exported symbols; where a platform exports none (Windows DLLs), fastinit is not
    listed.
    """
    try:
        import threadpoolctl
    except ImportError:
        return False
    register = getattr(threadpoolctl, "register", None)
    base = getattr(threadpoolctl, "LibController", None)
    if register is None or base is None:
        return False

    class FastinitController(base):
        """threadpoolctl's view of fastinit: its thread pool is an OpenMP one."""
        user_api = "openmp"
        internal_api = "fastinit"
        filename_prefixes = ("_core",)
        check_symbols = ("fi_fill", "fi_forked_child")

        def get_num_threads(self):
            return get_num_threads()

        def set_num_threads(self, num_threads):
            _set_limit(num_threads)

        def get_version(self):
            from . import __version__
            return __version__

        def set_additional_attributes(self):
            self.threading_layer = threading_layer()

    try:
        register(FastinitController)
    except (TypeError, AttributeError, ValueError):     # an incompatible threadpoolctl
        return False
    return True


def threading_layer():
    """What a multi-threaded fill runs on in this process.

    Returns
    -------
    str
        ``"openmp"``; ``"pthreads"`` in a process forked after fastinit was imported (the
        OpenMP runtime's pool does not survive ``fork``); ``"serial"`` in a build without
        OpenMP.
    """
    if not _core.openmp_enabled():
        return "serial"
    return "pthreads" if _core.forked_child() else "openmp"


# Fills from this many elements on would use two or more threads (the engine gives each
# thread at least 2^15 elements): the size at which a build without OpenMP says so.
_PARALLEL_ELEMS = 2 << 15
_serial_warned = False


def warn_if_serial(n, nthreads):
    """Warn once per process when a fill that would run on several threads runs on one
    because this build has no OpenMP."""
    global _serial_warned
    if _serial_warned or nthreads < 2 or n < _PARALLEL_ELEMS or _core.openmp_enabled():
        return
    _serial_warned = True
    warnings.warn(
        "fastinit was built without OpenMP, so fills run on one thread; rebuild with a "
        "compiler that has OpenMP (macOS: brew install libomp) or install a wheel. "
        "fastinit.show_config() shows the build.", RuntimeWarning, stacklevel=4)


_OPENMP_VERSIONS = {200505: "2.5", 200805: "3.0", 201107: "3.1", 201307: "4.0",
                    201511: "4.5", 201811: "5.0", 202011: "5.1", 202111: "5.2", 202411: "6.0"}


def _openmp_runtime():
    """Path of the OpenMP runtime library the engine calls, or None where it cannot be told."""
    if not _core.openmp_enabled():
        return None
    try:
        import ctypes

        class _DlInfo(ctypes.Structure):
            _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                        ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

        # looked up from the extension module, so the runtime it was linked to answers (a
        # process may hold several: torch ships its own libgomp)
        fn = ctypes.CDLL(_core.__file__).omp_get_max_threads
        libc = ctypes.CDLL(None)
        info = _DlInfo()
        if libc.dladdr(ctypes.cast(fn, ctypes.c_void_p), ctypes.byref(info)) and info.dli_fname:
            return os.path.realpath(os.fsdecode(info.dli_fname))
    except (OSError, AttributeError, TypeError):
        pass
    return None


def _simd_built():
    """Kernel instances compiled into this build (the engine exports one table per path;
    where symbols are not visible, as in Windows DLLs, the paths this CPU supports)."""
    try:
        import ctypes
        lib = ctypes.CDLL(_core.__file__)
        built = tuple(p for p in SIMD_PATHS if hasattr(lib, f"fi_kernels_{p}"))
        if built:
            return built
    except OSError:
        pass
    return simd_supported()


def _thread_source():
    if _num_threads is not None:
        return "set_num_threads"
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) >= 1:
        return f"OMP_NUM_THREADS={env}"
    return "CPU affinity"


def config():
    """The build and run-time configuration as a dict of dicts (see `show_config`)."""
    from . import __version__
    omp = _core.openmp_enabled()
    ver = _core.openmp_version()
    runtime = _openmp_runtime()
    return {
        "fastinit": {"version": __version__, "python": sys.version.split()[0],
                     "module": _core.__file__},
        "build": {
            "compiler": _core.build_compiler(),
            "openmp": omp,
            "openmp_version": (f"{_OPENMP_VERSIONS.get(ver, '?')} ({ver})" if omp else None),
            "openmp_runtime": runtime if omp else None,
            "simd_built": list(_simd_built()),
        },
        "simd": {"supported": list(simd_supported()), "current": simd_path()},
        "threads": {
            "default": get_num_threads(),
            "source": _thread_source(),
            "threadpoolctl_limit": _limit,
            "layer": threading_layer(),
            "forked_child": _core.forked_child(),
        },
    }


def show_config(mode="stdout"):
    """Print (or return) how this fastinit was built and how it will run here.

    Parameters
    ----------
    mode : {"stdout", "dicts"}
        ``"stdout"`` prints a readable report; ``"dicts"`` returns it as a dict of dicts
        (``fastinit``, ``build``, ``simd``, ``threads``) instead, as ``numpy.show_config``
        does.

    Returns
    -------
    dict or None
    """
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"mode must be 'stdout' or 'dicts', got {mode!r}")
    cfg = config()
    if mode == "dicts":
        return cfg
    b, t = cfg["build"], cfg["threads"]
    if b["openmp"]:
        omp = f"yes, OpenMP {b['openmp_version']}, runtime {b['openmp_runtime'] or 'unknown'}"
    else:
        omp = "no: fills run on one thread"
    lines = [
        f"fastinit {cfg['fastinit']['version']} (Python {cfg['fastinit']['python']})",
        f"  module          : {cfg['fastinit']['module']}",
        "build:",
        f"  compiler        : {b['compiler']}",
        f"  OpenMP          : {omp}",
        f"  SIMD paths built: {', '.join(b['simd_built'])}",
        "this machine:",
        f"  SIMD supported  : {', '.join(cfg['simd']['supported'])}",
        f"  SIMD current    : {cfg['simd']['current']}",
        f"  default threads : {t['default']} (from {t['source']}"
        + (f", threadpoolctl limit {t['threadpoolctl_limit']}" if t["threadpoolctl_limit"] else "")
        + ")",
        f"  threading layer : {t['layer']}"
        + (" (forked child: the OpenMP pool does not survive fork)" if t["forked_child"] else ""),
    ]
    print("\n".join(lines))
    return None


def _init_from_env():
    name = os.environ.get("FASTINIT_SIMD", "").strip().lower()
    if not name:
        return
    try:
        set_simd_path(name)
    except ValueError as exc:
        warnings.warn(f"FASTINIT_SIMD={name!r} ignored: {exc}; using {_core.isa_best()!r}",
                      RuntimeWarning, stacklevel=3)
        _core.isa_select("auto")


_init_from_env()
_register_threadpoolctl()
