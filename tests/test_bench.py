"""The `fastinit bench` command and fastinit.bench: end to end at tiny sizes, JSON fields,
plots, and clear errors for bad options. Timings are not asserted beyond sanity."""

import importlib.util
import json
import math
import os
import subprocess
import sys
import types

import numpy as np
import pytest

import fastinit
from fastinit import bench
from fastinit.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
TINY = ["--size", "64KiB", "--repeat", "1", "--max-time", "2"]


def _has(module):
    return importlib.util.find_spec(module) is not None


def _run_module(args, tmp_path):
    """`python -m fastinit ...` in a fresh interpreter, importing this same fastinit."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "fastinit", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def _json_main(capsys, *args):
    assert main(["bench", *TINY, "--json", "-q", *args]) == 0
    return json.loads(capsys.readouterr().out)


def _check_timed(r, nbytes):
    assert r["times_s"] and all(t > 0 and math.isfinite(t) for t in r["times_s"])
    assert r["best_s"] == min(r["times_s"])
    assert r["gb_per_s"] == pytest.approx(nbytes / r["best_s"] / 1e9)
    assert 1e-4 < r["gb_per_s"] < 1e4                     # GB/s, not bytes/s or ns
    assert r["melem_per_s"] == pytest.approx(r["elements"] / r["best_s"] / 1e6)
    assert r["calls_per_sample"] >= 1


# --- end to end -----------------------------------------------------------------------

def test_module_entry_point_json_end_to_end(tmp_path):
    proc = _run_module(["bench", *TINY, "--peers", "numpy", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)                          # stdout is pure JSON
    assert "[  1/" in proc.stderr                          # progress goes to stderr

    assert set(rep) == {"machine", "config", "peers", "results", "summary"}
    cfg = rep["config"]
    assert cfg["size_bytes"] == 65536 and cfg["elements"] == 16384
    assert cfg["dtype"] == "float32" and cfg["peers"] == ["numpy"]
    assert cfg["threads"] == fastinit.get_num_threads() and cfg["repeat"] == 1
    assert math.prod(cfg["shape"]) == 16384
    assert cfg["cases"] == list(bench.CASES)
    for key in ("cpu", "usable_cores", "simd_path", "simd_supported", "fastinit", "numpy"):
        assert key in rep["machine"]
    assert rep["machine"]["simd_path"] == fastinit.simd_path()
    assert rep["peers"]["numpy"] == np.__version__

    by = {(r["case"], r["impl"]): r for r in rep["results"]}
    assert ("limit", "limit") in by
    _check_timed(by["limit", "limit"], 65536)
    for case in bench.CASES:
        for impl in ("fastinit", "numpy"):
            r = by[case, impl]
            assert r["mode"] == "warm" and r["dtype"] == "float32" and r["op"]
            _check_timed(r, 65536)
    assert "random(dtype=float32, out=)" in by["uniform", "numpy"]["op"]
    assert "standard_normal(dtype=float32, out=)" in by["normal", "numpy"]["op"]

    summary = {s["case"]: s for s in rep["summary"]}
    assert list(summary) == list(bench.CASES)
    # every fraction uses the run's limit: the best of all limit measurements (at the start
    # and next to each case, every method), whose samples give the spread
    limits = [r for r in rep["results"] if r["impl"] == "limit"]
    assert len(limits) == 1 + len(bench.CASES)
    best = max(r["gb_per_s"] for r in limits)
    samples = [x for r in limits for x in r["samples_gb_per_s"]]
    for r in limits:
        assert {k.split("/")[0] for k in r["tried"]} == {"fill", "store", "stream"}
        assert r["method"] in ("fill", "store", "stream")
        assert r["gb_per_s"] == pytest.approx(max(r["samples_gb_per_s"]))
    for case, s in summary.items():
        _check_timed(by[case, "limit"], 65536)
        fi = by[case, "fastinit"]["gb_per_s"]
        assert s["fastinit_gb_per_s"] == fi and s["limit_gb_per_s"] == best
        assert s["limit_here_gb_per_s"] == by[case, "limit"]["gb_per_s"]
        assert s["limit_spread_gb_per_s"] == pytest.approx([min(samples), max(samples)])
        assert s["fraction_of_limit"] == pytest.approx(fi / best)
        assert s["speedup"] == {"numpy": pytest.approx(fi / by[case, "numpy"]["gb_per_s"])}


def test_table_has_every_column(capsys):
    assert main(["bench", *TINY, "--peers", "numpy,numpy-mt", "--cases", "uniform,normal"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("case"))
    for col in ("fastinit", "numpy", "numpy-mt", "limit", "x numpy", "x numpy-mt", "of limit"):
        assert col in header
    rows = [line.split() for line in lines if line.startswith(("uniform", "normal"))]
    assert [r[0] for r in rows] == ["uniform", "normal"]
    for r in rows:
        assert r[-1].endswith("%") and r[-2].endswith("x") and r[-3].endswith("x")
        assert all(float(v) > 0 for v in r[1:5])          # fastinit, numpy, numpy-mt, limit
    assert "64 KiB float32" in out and "GB/s" in out
    assert "SeedSequence.spawn" in out                     # what the recipe ran is stated
    assert err.count("GB/s") == 1 + 2 * 3                  # a progress line per measurement


def test_quiet_prints_no_progress(capsys):
    assert main(["bench", *TINY, "--peers", "none", "--cases", "uniform", "-q"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "uniform" in out


def test_fresh_mode_measures_shape_fills(capsys):
    rep = _json_main(capsys, "--peers", "numpy", "--cases", "uniform,truncated_normal",
                     "--fresh")
    assert rep["config"]["fresh"] is True
    modes = {(r["case"], r["impl"], r["mode"]) for r in rep["results"] if "gb_per_s" in r}
    for mode in ("warm", "fresh"):
        assert ("limit", "limit", mode) in modes
        for case in ("uniform", "truncated_normal"):
            assert (case, "fastinit", mode) in modes and (case, "numpy", mode) in modes
    fresh = {r["case"]: r for r in rep["results"]
             if r["mode"] == "fresh" and r["impl"] == "fastinit"}
    assert "shape" in fresh["uniform"]["op"]
    assert {(s["case"], s["mode"]) for s in rep["summary"]} == {
        (c, m) for c in ("uniform", "truncated_normal") for m in ("warm", "fresh")}


@pytest.mark.parametrize("dtype", ["float64", "bfloat16", "float16"])
def test_other_dtypes(capsys, dtype):
    rep = _json_main(capsys, "--dtype", dtype, "--peers", "numpy",
                     "--cases", "uniform,variance_scaling")
    by = {(r["case"], r["impl"]): r for r in rep["results"]}
    itemsize = 8 if dtype == "float64" else 2
    assert rep["config"]["elements"] == 65536 // itemsize
    for case in ("uniform", "variance_scaling"):
        _check_timed(by[case, "fastinit"], 65536)
        if dtype == "float64":
            _check_timed(by[case, "numpy"], 65536)
        else:                      # NumPy's Generator has no 16-bit output: said, not faked
            assert "no " + dtype in by[case, "numpy"]["unavailable"]
            assert "gb_per_s" not in by[case, "numpy"]
    if dtype != "float64":
        assert rep["summary"][0]["speedup"] == {"numpy": None}


def test_threads_option_reaches_fastinit_and_the_limit(capsys):
    rep = _json_main(capsys, "--threads", "1", "--peers", "numpy-mt", "--cases", "normal")
    by = {r["impl"]: r for r in rep["results"]}
    assert rep["config"]["threads"] == 1
    assert by["fastinit"]["threads"] == 1 and by["numpy-mt"]["threads"] == 1
    assert by["limit"]["threads"] == 1


def test_framework_peers_when_installed(capsys):
    peers = [p for p in ("torch", "jax") if _has(p)]
    missing = [p for p in ("torch", "jax") if not _has(p)]
    if missing:                    # asking for an absent peer is a clear error
        with pytest.raises(SystemExit) as exc:
            main(["bench", *TINY, "--peers", missing[0], "-q"])
        assert exc.value.code == 2
        assert f"{missing[0]} requested but not importable" in capsys.readouterr().err
    if peers:
        rep = _json_main(capsys, "--peers", ",".join(peers), "--cases", "xavier_uniform")
        by = {r["impl"]: r for r in rep["results"]}
        for p in peers:
            _check_timed(by[p], 65536)
        if "torch" in by:
            assert "xavier_uniform_" in by["torch"]["op"]
        if "jax" in by:
            assert "glorot_uniform" in by["jax"]["op"]


def _fake_mkl_random(fail=False):
    mod = types.ModuleType("mkl_random")
    mod.__version__ = "0.0-fake"

    class RandomState:
        def __init__(self, seed):
            self._g = np.random.default_rng(seed)

        def uniform(self, low, high, size):
            if fail:
                raise RuntimeError("broken peer")
            return self._g.uniform(low, high, size)

        def normal(self, loc, scale, size):
            return self._g.normal(loc, scale, size)

    mod.RandomState = RandomState
    return mod


def test_mkl_random_peer_and_a_failing_peer(monkeypatch):
    monkeypatch.setitem(sys.modules, "mkl_random", _fake_mkl_random())
    assert "mkl_random" in bench.available_peers()
    rep = bench.run(size="64KiB", peers="mkl-random", repeat=1,
                    cases=["uniform", "he_normal", "truncated_normal"])
    assert rep["peers"]["mkl_random"] == "0.0-fake"
    by = {r["case"]: r for r in rep["results"] if r["impl"] == "mkl_random"}
    _check_timed(by["uniform"], 65536)
    _check_timed(by["he_normal"], 65536)
    assert "truncated" in by["truncated_normal"]["unavailable"]

    # a peer that raises is reported as an error of its row; the run goes on
    monkeypatch.setitem(sys.modules, "mkl_random", _fake_mkl_random(fail=True))
    rep = bench.run(size="64KiB", peers=["mkl_random"], repeat=1, cases=["uniform", "normal"])
    by = {r["case"]: r for r in rep["results"] if r["impl"] == "mkl_random"}
    assert by["uniform"]["error"] == "RuntimeError: broken peer"
    _check_timed(by["normal"], 65536)
    table = bench.format_table(rep)
    assert "err" in table and "broken peer" in table


# --- plots ------------------------------------------------------------------------------

def test_plot_writes_png_or_says_matplotlib_is_missing(tmp_path, capsys):
    png = tmp_path / "bench.png"
    args = ["bench", *TINY, "--peers", "numpy", "--cases", "uniform", "-q", "--plot", str(png)]
    if _has("matplotlib"):
        assert main(args) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        sweep_png = tmp_path / "sweep.png"
        assert main(["bench", "--size", "16KiB", "--repeat", "1", "--peers", "numpy",
                     "--cases", "uniform,normal", "-q", "--sweep", "size",
                     "--plot", str(sweep_png)]) == 0
        out = capsys.readouterr().out
        assert "4 KiB" in out and "16 KiB" in out            # the sweep table
        assert sweep_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 2
        assert "--plot needs matplotlib" in capsys.readouterr().err
        assert not png.exists()


def test_plot_without_matplotlib_is_a_clear_error_before_any_measurement(
        tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import matplotlib -> ImportError
    with pytest.raises(SystemExit) as exc:
        main(["bench", *TINY, "--plot", str(tmp_path / "x.png")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--plot needs matplotlib" in err and "pip install matplotlib" in err
    assert "GB/s" not in err                                  # nothing was measured
    with pytest.raises(bench.BenchError, match="needs matplotlib"):
        bench.plot({"config": {}}, tmp_path / "y.png")


def test_thread_sweep_json(capsys):
    rep = _json_main(capsys, "--peers", "none", "--cases", "uniform", "--sweep", "threads",
                     "--threads", "2")
    assert rep["sweep"] == "threads" and rep["x"] == [1, 2]
    assert [p["config"]["threads"] for p in rep["points"]] == [1, 2]
    for p in rep["points"]:
        assert any(r["impl"] == "fastinit" and r["gb_per_s"] > 0 for r in p["results"])


# --- options and errors -------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--size", "12XB"], "unknown unit"),
    (["--size", "lots"], "is not a size"),
    (["--size", "0"], "at least 1 byte"),
    (["--size", "3B"], "holds no float32 element"),
    (["--dtype", "int8"], "invalid choice: 'int8'"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--threads", "two"], "--threads must be an integer"),
    (["--repeat", "0"], "--repeat must be >= 1"),
    (["--warmup", "-1"], "--warmup must be >= 0"),
    (["--max-time", "0"], "--max-time must be a positive number"),
    (["--peers", "torhc"], "unknown peer torhc"),
    (["--peers", "numpy,none"], "unknown peer none"),
    (["--cases", "xavier"], "unknown case xavier"),
    (["--sweep", "dtype"], "invalid choice: 'dtype'"),
])
def test_bad_options_exit_2_with_a_message(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "-q", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "usage: fastinit bench" in err


def test_missing_peer_named_explicitly_is_an_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mkl_random", None)      # not importable
    with pytest.raises(SystemExit) as exc:
        main(["bench", *TINY, "--peers", "numpy,mkl_random"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "mkl_random requested but not importable" in err
    with pytest.raises(bench.BenchError, match="not importable"):
        bench.run(size="4KiB", peers="all")
    assert "mkl_random" not in bench.available_peers()         # auto just leaves it out


def test_api_errors():
    with pytest.raises(bench.BenchError, match="dtype must be one of"):
        bench.run(size="4KiB", dtype="int32")
    with pytest.raises(bench.BenchError, match="threads must be a positive int"):
        bench.run(size="4KiB", threads=0)
    with pytest.raises(bench.BenchError, match="unknown case"):
        bench.run(size="4KiB", cases=[])
    with pytest.raises(bench.BenchError, match="max_time"):
        bench.run(size="4KiB", max_time=float("nan"))
    with pytest.raises(bench.BenchError, match="sweep must be"):
        bench.sweep("dtype", size="4KiB", peers="none")


def test_command_line_without_a_command_prints_help(tmp_path):
    proc = _run_module([], tmp_path)
    assert proc.returncode == 2 and "bench" in proc.stderr
    proc = _run_module(["info"], tmp_path)
    assert proc.returncode == 0 and fastinit.simd_path() in proc.stdout


# --- helpers ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, nbytes", [
    ("1GiB", 1 << 30), ("256MiB", 256 << 20), ("4KiB", 4096), ("64kib", 65536),
    ("1G", 1 << 30), ("1.5MiB", 3 << 19), ("1GB", 10 ** 9), ("4KB", 4000), ("1e6", 10 ** 6),
    ("4096", 4096), ("512 B", 512), (8192, 8192),
])
def test_parse_size(text, nbytes):
    assert bench.parse_size(text) == nbytes


def test_format_size_and_sweep_points():
    assert bench.format_size(1 << 30) == "1 GiB"
    assert bench.format_size(64 << 10) == "64 KiB"
    assert bench.format_size(1000) == "1000 B"
    assert bench.sweep_points("size", "1MiB") == [4096, 16384, 65536, 262144, 1 << 20]
    assert bench.sweep_points("size", "100KiB") == [4096, 16384, 65536, 100 << 10]
    assert bench.sweep_points("threads", threads=6) == [1, 2, 4, 6]
    assert bench.sweep_points("threads", threads=1) == [1]


def test_peers_none_measures_fastinit_and_the_limit_only():
    rep = bench.run(size="4KiB", peers="none", repeat=1, cases=["normal"])
    assert rep["config"]["peers"] == []
    assert sorted((r["case"], r["impl"]) for r in rep["results"]) == [
        ("limit", "limit"), ("normal", "fastinit"), ("normal", "limit")]
    assert rep["summary"][0]["speedup"] == {}
    assert "normal" in bench.format_table(rep)


@pytest.mark.parametrize("nontemporal", [False, True])
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("start, n", [(0, 1 << 20), (3, (1 << 20) + 5), (5, 77)])
def test_limit_stores_write_the_pattern_and_nothing_else(nontemporal, threads, start, n):
    """The engine stores the limit times: every byte of the target gets the pattern (in
    memory order), none next to it is touched."""
    from fastinit import _core
    big = np.full(n + 16, 0xAB, np.uint8)
    target = big[start:start + n]
    _core.store_fill(target, 0x0102030405060708, threads, nontemporal)
    want = np.resize(np.frombuffer((0x0102030405060708).to_bytes(8, "little"), np.uint8), n)
    assert np.array_equal(target, want)
    assert (big[:start] == 0xAB).all() and (big[start + n:] == 0xAB).all()
