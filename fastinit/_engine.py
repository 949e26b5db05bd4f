"""Engine settings: thread count and the SIMD path (which never changes values)."""

import os
import threading
import warnings

from . import _core

_lock = threading.Lock()
_num_threads = None
_default_threads = None

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


def get_num_threads():
    """Number of threads a fill uses when ``threads`` is not given.

    Defaults to ``OMP_NUM_THREADS`` when set, otherwise to the cores this process may run
    on (its CPU affinity). Fills of fewer than 32768 elements per thread use fewer threads.
    """
    global _default_threads
    n = _num_threads
    if n is not None:
        return n
    if _default_threads is None:
        _default_threads = _usable_cores()
    return _default_threads


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
