"""QR for the orthogonal initializers: bits independent of BLAS threading, Ctrl-C answered.

LAPACK's blocked QR (numpy.linalg.qr) sums in an order that depends on how many threads the
BLAS under it runs, so its last bits change with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS.
Here the factorisation runs with the BLAS pinned to one thread (threadpoolctl), which makes
the result a function of the input and the numpy build alone. It runs in a worker thread
while the calling thread waits in short, interruptible steps: LAPACK holds no Python signal
checks, so a direct call would ignore Ctrl-C until it returns.
"""

import threading

import numpy as np

# One factorisation at a time: BLAS thread limits are process-wide, and two overlapping
# limit/restore pairs would restore the wrong value.
_LOCK = threading.Lock()
_WAIT_S = 0.02


def _limits():
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


def qr(a):
    """``numpy.linalg.qr(a)`` (reduced), computed with a single BLAS thread.

    Returns (q, r). KeyboardInterrupt reaches the caller within tens of milliseconds; the
    abandoned factorisation finishes in its worker thread (BLAS cannot be stopped midway),
    during which other BLAS calls of the process also run on one thread, and the interpreter
    waits for it before exiting.
    """
    result = {}

    done = threading.Event()

    def work():
        try:
            with _LOCK, _limits():
                result["qr"] = np.linalg.qr(a)
        except BaseException as exc:       # noqa: BLE001 - handed to the caller
            result["error"] = exc
        finally:
            done.set()

    # Not a daemon: an interpreter that exits while an abandoned QR still runs waits for it,
    # instead of tearing down the BLAS library under it (a segfault at exit). The wait is on
    # an Event, not Thread.join(timeout): a KeyboardInterrupt inside join() can mark a running
    # thread as finished (CPython 3.11), and the interpreter would then not wait for it.
    worker = threading.Thread(target=work, name="fastinit-qr", daemon=False)
    worker.start()
    while not done.wait(_WAIT_S):
        pass
    if "error" in result:
        raise result["error"]
    return result["qr"]
