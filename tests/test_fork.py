"""Fills in forked processes: after a multi-threaded fill the OpenMP pool of the parent does
not exist in a child, and a child must still fill (multi-threaded) with the same bits.

Each scenario runs in a fresh interpreter in its own session, with a timeout: a regression
(a child hanging in the OpenMP runtime) fails the test and its processes are killed, instead
of hanging the suite.
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

TIMEOUT = 120


def run_script(code, tmp_path, prelude="", timeout=TIMEOUT):
    """Run `prelude` + `code` in a new interpreter (outside the source tree); returns its
    stdout. The whole process group is killed on timeout, hung children included."""
    script = tmp_path / "script.py"
    script.write_text(prelude + textwrap.dedent(code))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"timed out after {timeout} s (a forked child hung)")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
    return out


# The oracle: numpy's own Generator for the uniform words, and the parent's fill (which
# test_golden and test_invariance pin) for the other samplers.
PRELUDE = """
import os, sys, numpy as np, fastinit
from fastinit import _core

N = 1 << 20

def expected():
    return {
        "random32": np.random.default_rng(5).random(N, dtype=np.float32),
        "random64": np.random.default_rng(6).random(N),
        "normal": fastinit.normal(N, std=0.5, rng=7, threads=1),
        "trunc": fastinit.truncated_normal(N, rng=8, threads=1),
        "many": np.concatenate([fastinit.normal(N // 2, rng=9, threads=1),
                                fastinit.uniform(N, rng=10, threads=1)]),
    }

def fill_many(threads):
    a, b = np.empty(N // 2, np.float32), np.empty(N, np.float32)
    fastinit.fill_many([("normal", a, {"rng": 9}), ("uniform", b, {"rng": 10})], threads=threads)
    return np.concatenate([a, b])

def fills(threads):
    return {
        "random32": fastinit.random(N, rng=5, threads=threads),
        "random64": fastinit.random(N, dtype=np.float64, rng=6, threads=threads),
        "normal": fastinit.normal(N, std=0.5, rng=7, threads=threads),
        "trunc": fastinit.truncated_normal(N, rng=8, threads=threads),
        "many": fill_many(threads),
    }

def same(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)

def wait(pid, timeout=60):
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return "hung"
"""


def test_fork_after_a_parallel_fill(tmp_path):
    out = run_script("""
    want = expected()
    assert same(fills(2), want)              # the parent's OpenMP pool now exists
    assert not _core.forked_child()
    pid = os.fork()
    if pid == 0:
        ok = same(fills(2), want) and same(fills(None), want)
        # (a build without OpenMP has no pool to lose and stays serial)
        omp = _core.openmp_enabled()
        ok = ok and _core.forked_child() == omp
        layer = fastinit.show_config("dicts")["threads"]["layer"]
        ok = ok and layer == ("pthreads" if omp else "serial")
        # a grandchild inherits the child's safe mode
        gpid = os.fork()
        if gpid == 0:
            os._exit(0 if same(fills(2), want) else 3)
        ok = ok and wait(gpid) == 0
        os._exit(0 if ok else 3)
    print("child", wait(pid))
    assert same(fills(2), want)              # the parent's pool still works
    print("parent ok")
    """, tmp_path, PRELUDE)
    assert "child 0" in out and "parent ok" in out


def test_multiprocessing_fork_pool(tmp_path):
    out = run_script("""
    import multiprocessing as mp

    def work(seed):
        return fastinit.normal((512, 1024), std=0.1, rng=seed, threads=2)

    if __name__ == "__main__":
        fastinit.normal(N, threads=2)
        with mp.get_context("fork").Pool(2) as pool:
            got = pool.map(work, range(6), chunksize=1)
        want = [fastinit.normal((512, 1024), std=0.1, rng=s, threads=1) for s in range(6)]
        assert all(np.array_equal(g, w) for g, w in zip(got, want))
        # and a Generator consumed in the child: same values and end state as numpy
        def gen_fill(seed):
            g = np.random.default_rng(seed)
            a = fastinit.random(N, rng=g, threads=2)
            return a, g.bit_generator.state
        with mp.get_context("fork").Pool(1) as pool:
            (a, state), = pool.map(gen_fill, [11])
        g = np.random.default_rng(11)
        assert np.array_equal(a, g.random(N, dtype=np.float32))
        assert state == g.bit_generator.state
        print("pool ok")
    """, tmp_path, PRELUDE)
    assert "pool ok" in out


def test_fork_while_another_thread_fills(tmp_path):
    out = run_script("""
    import threading
    want = expected()
    assert same(fills(2), want)     # this (the forking) thread's OpenMP pool exists too
    stop = threading.Event()
    inside = threading.Event()
    buf = np.empty(1 << 23, np.float32)

    def filler():
        while not stop.is_set():
            inside.set()
            fastinit.normal(out=buf, rng=1, threads=2)

    t = threading.Thread(target=filler)
    t.start()
    inside.wait()
    codes = []
    for _ in range(5):
        pid = os.fork()
        if pid == 0:
            os._exit(0 if same(fills(2), want) else 3)
        codes.append(wait(pid))
    stop.set()
    t.join()
    print("codes", codes)
    assert codes == [0] * 5
    """, tmp_path, PRELUDE)
    assert "codes [0, 0, 0, 0, 0]" in out


def test_fork_after_torch_used_the_shared_openmp_runtime(tmp_path):
    """torch ships libgomp.so.1 with the same soname as the system's: in one process fastinit
    and torch use one runtime, so torch's parallel work alone breaks OpenMP in a child."""
    pytest.importorskip("torch")
    out = run_script("""
    import os, numpy as np, torch, fastinit
    torch.set_num_threads(2)
    x = torch.randn(2000, 2000)
    (x @ x).sum()                      # torch starts the OpenMP pool; fastinit has not filled
    want = fastinit.normal(1 << 20, rng=3, threads=1)
    pid = os.fork()
    if pid == 0:
        import signal
        signal.alarm(60)               # a hang ends the child with SIGALRM
        w = torch.empty(1024, 1024)
        import fastinit.torch as ft
        ft.normal_(w, std=1.0, generator=None, rng=3)
        ok = np.array_equal(fastinit.normal(1 << 20, rng=3, threads=2), want)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status))
    """, tmp_path)
    assert "child 0" in out


def test_dask_processes_scheduler_with_fork(tmp_path):
    pytest.importorskip("dask.array")
    out = run_script("""
    import numpy as np, dask, fastinit, fastinit.dask as fd
    if __name__ == "__main__":
        fastinit.normal(1 << 20, threads=2)          # the parent's pool exists
        # fastinit.dask fills each chunk on one thread by default; two make the
        # workers (forked from a parent with an OpenMP pool) start threads
        w = fd.he_normal((1024, 768), chunks=(256, 768), rng=4, threads=2)
        with dask.config.set(scheduler="processes", num_workers=2,
                             **{"multiprocessing.context": "fork"}):
            got = w.compute()
        assert np.array_equal(got, fastinit.he_normal((1024, 768), rng=4))
        print("dask ok")
    """, tmp_path)
    assert "dask ok" in out
