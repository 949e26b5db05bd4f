"""Threads: threadpoolctl's view and limits, other OpenMP/BLAS users in the process, the build
report (`show_config`, ``fastinit info``) and the warning of a build without OpenMP.

The same tests run against a build without OpenMP (``.ci/noopenmp.sh``)."""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import fastinit
from fastinit import _core, _engine

threadpoolctl = pytest.importorskip("threadpoolctl")


def _realpath(p):
    return os.path.realpath(p)


def _fastinit_entries(info):
    return [i for i in info if i["internal_api"] == "fastinit"]


def test_threadpool_info_lists_fastinit():
    entries = _fastinit_entries(threadpoolctl.threadpool_info())
    assert len(entries) == 1
    e = entries[0]
    assert _realpath(e["filepath"]) == _realpath(_core.__file__)
    assert e["user_api"] == "openmp"
    assert e["version"] == fastinit.__version__
    assert e["num_threads"] == fastinit.get_num_threads()
    assert e["threading_layer"] == ("openmp" if _core.openmp_enabled() else "serial")


@pytest.fixture
def record_threads(monkeypatch):
    """The thread counts the engine is called with."""
    seen = []
    real = _core.fill

    def spy(*args):
        seen.append(args[7])
        return real(*args)

    monkeypatch.setattr(_core, "fill", spy)
    return seen


def test_threadpool_limits_caps_the_default(record_threads):
    fastinit.set_num_threads(3)
    try:
        want = fastinit.normal(1 << 18, rng=0)
        assert record_threads == [3]
        with threadpoolctl.threadpool_limits(1):
            assert fastinit.get_num_threads() == 1
            got = fastinit.normal(1 << 18, rng=0)
            with threadpoolctl.threadpool_limits(2):      # a looser inner limit
                assert fastinit.get_num_threads() == 2
            assert fastinit.get_num_threads() == 1
            # an explicit threads= is the caller's choice, as with set_num_threads
            fastinit.normal(1 << 18, rng=0, threads=2)
        assert record_threads == [3, 1, 2]
        assert np.array_equal(got, want)
        assert fastinit.get_num_threads() == 3          # restored on leaving
        with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
            assert fastinit.get_num_threads() == 1
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
            assert fastinit.get_num_threads() == 3
        fastinit.set_num_threads(5)                      # no limit left behind
        assert fastinit.get_num_threads() == 5
        with threadpoolctl.threadpool_limits(2):
            fastinit.set_num_threads(8)                  # changed under a limit
            assert fastinit.get_num_threads() == 2
        assert fastinit.get_num_threads() == 8
    finally:
        fastinit.set_num_threads(None)


def test_threadpool_controller_limit_by_info():
    """threadpoolctl's other form: limits keyed by the library's entry."""
    ctl = threadpoolctl.ThreadpoolController()
    ours = ctl.select(internal_api="fastinit")
    assert len(ours.lib_controllers) == 1
    with ours.limit(limits=1):
        assert fastinit.get_num_threads() == 1
        assert ctl.select(internal_api="fastinit").info()[0]["num_threads"] == 1
    assert fastinit.get_num_threads() == _engine._usable_cores()


def _run(code, cwd, timeout=240):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_torch_openblas_and_fastinit_in_one_process(tmp_path):
    """torch imported first: its bundled libgomp (soname libgomp.so.1) is the OpenMP runtime
    of the whole process; numpy's OpenBLAS has its own pthreads pool. One threadpool_limits
    reaches all three; fills keep their bits, also while torch and BLAS run in other
    threads."""
    pytest.importorskip("torch")
    r = _run("""
        import json, threading, numpy as np, torch, threadpoolctl, fastinit
        info = threadpoolctl.threadpool_info()
        want = fastinit.normal((1024, 1024), rng=1, threads=1)
        with threadpoolctl.threadpool_limits(1):
            inside = {"torch": torch.get_num_threads(), "fastinit": fastinit.get_num_threads(),
                      "apis": sorted({(i["internal_api"], i["num_threads"])
                                      for i in threadpoolctl.threadpool_info()})}
            same1 = bool(np.array_equal(fastinit.normal((1024, 1024), rng=1), want))
        stop = threading.Event()
        def busy():
            a = np.ones((400, 400)); t = torch.ones(400, 400)
            while not stop.is_set():
                a @ a; t @ t
        ts = [threading.Thread(target=busy) for _ in range(2)]
        for t in ts: t.start()
        same2 = all(np.array_equal(fastinit.normal((1024, 1024), rng=1, threads=2), want)
                    for _ in range(20))
        stop.set()
        for t in ts: t.join()
        print(json.dumps({"info": info, "inside": inside, "same": [same1, same2],
                          "runtime": fastinit.show_config("dicts")["build"]["openmp_runtime"],
                          "torch_file": torch.__file__}))
    """, tmp_path)
    apis = {i["internal_api"] for i in r["info"]}
    assert {"fastinit", "openblas"} <= apis
    assert r["same"] == [True, True]
    assert r["inside"]["fastinit"] == 1 and r["inside"]["torch"] == 1
    assert all(n == 1 for _, n in r["inside"]["apis"])
    if _core.openmp_enabled() and sys.platform.startswith("linux"):
        omp = [i["filepath"] for i in r["info"] if i["internal_api"] == "openmp"]
        torch_lib = os.path.join(os.path.dirname(r["torch_file"]), "lib")
        # fastinit's engine calls the runtime threadpoolctl lists, and (torch first) the one
        # torch ships, unless fastinit carries its own renamed copy (a repaired wheel)
        assert _realpath(r["runtime"]) in {_realpath(p) for p in omp}
        if os.path.basename(r["runtime"]).startswith("libgomp.so"):
            assert _realpath(r["runtime"]).startswith(_realpath(torch_lib))


def test_show_config_dicts():
    cfg = fastinit.show_config(mode="dicts")
    assert cfg["fastinit"]["version"] == fastinit.__version__
    assert _realpath(cfg["fastinit"]["module"]) == _realpath(_core.__file__)
    b = cfg["build"]
    assert b["compiler"].split()[0] in {"GNU", "Clang", "AppleClang", "MSVC", "IntelLLVM"}
    assert b["openmp"] is _core.openmp_enabled()
    # the runtime is one of the OpenMP libraries loaded in this process (threadpoolctl's
    # independent view), and only a build with OpenMP has one
    omp = {_realpath(i["filepath"]) for i in threadpoolctl.threadpool_info()
           if i["user_api"] == "openmp" and i["internal_api"] != "fastinit"}
    if b["openmp"]:
        assert b["openmp_version"].endswith(f"({_core.openmp_version()})")
        if sys.platform.startswith("linux") or sys.platform == "darwin":
            assert _realpath(b["openmp_runtime"]) in omp
    else:
        assert b["openmp_version"] is None and b["openmp_runtime"] is None
    assert "base" in b["simd_built"]
    assert set(cfg["simd"]["supported"]) <= set(b["simd_built"])
    assert cfg["simd"]["supported"] == list(fastinit.simd_supported())
    assert cfg["simd"]["current"] == fastinit.simd_path()
    t = cfg["threads"]
    assert t["default"] == fastinit.get_num_threads()
    assert t["layer"] == ("openmp" if b["openmp"] else "serial")
    assert t["forked_child"] is False


def test_show_config_prints_and_checks_mode(capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    fastinit.set_num_threads(None)
    try:
        assert fastinit.show_config() is None
        out = capsys.readouterr().out
        assert f"fastinit {fastinit.__version__}" in out
        assert "default threads : 3 (from OMP_NUM_THREADS=3)" in out
        assert ("OpenMP          : yes" if _core.openmp_enabled() else "OpenMP          : no") in out
        assert f"SIMD current    : {fastinit.simd_path()}" in out
    finally:
        monkeypatch.delenv("OMP_NUM_THREADS")
        fastinit.set_num_threads(None)
    with pytest.raises(ValueError, match="mode"):
        fastinit.show_config("json")


def test_info_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fastinit", "info", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads(proc.stdout)
    want = fastinit.show_config("dicts")
    assert cfg["build"] == want["build"] and cfg["simd"] == want["simd"]
    assert cfg["machine"]["cpu_count"] == os.cpu_count()
    proc = subprocess.run([sys.executable, "-m", "fastinit", "info"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "SIMD paths built: " in proc.stdout
    assert f"compiler        : {want['build']['compiler']}" in proc.stdout


def test_large_fill_warns_once_without_openmp(monkeypatch):
    """A build without OpenMP says so on the first fill that would use several threads; a
    build with OpenMP never does."""
    monkeypatch.setattr(_engine, "_serial_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fastinit.normal(1 << 10, rng=0, threads=2)           # small: one thread anyway
        fastinit.normal(1 << 10, rng=0, threads=2)
        small = len(caught)
        fastinit.normal(1 << 17, rng=0, threads=2)
        fastinit.uniform(1 << 17, rng=0, threads=2)
        fastinit.normal(1 << 17, rng=0, threads=1)
    ours = [w for w in caught if "OpenMP" in str(w.message)]
    assert small == 0
    if _core.openmp_enabled():
        assert ours == []
    else:
        assert len(ours) == 1 and ours[0].category is RuntimeWarning
        assert ours[0].filename == __file__          # points at the caller's line
