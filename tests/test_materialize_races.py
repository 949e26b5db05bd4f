"""fastinit materialize with real processes: concurrent runs, signals, killed runs' debris.

A "held" run is a real ``fastinit materialize`` process stopped in the middle of its write
(its temporary file exists, full size) until the test lets it go: the child wraps the
progress hook to wait for a file. Two held runs have both passed every up-front check when
they are let go together, so the race between them is real and deterministic.
"""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fastinit
import fastinit.materialize as fm
from fastinit.materialize import atomic

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")

GPT2 = {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 64,
        "vocab_size": 1000, "initializer_range": 0.02}

HELD = r"""
import os, sys, time
import fastinit.materialize as fm
from fastinit.materialize.progress import Progress
ready, go = sys.argv[1], sys.argv[2]
real = Progress.add
def add(self, nbytes=0, tensors=0):
    if not os.path.exists(ready):
        open(ready, "w").close()
        while not os.path.exists(go):
            time.sleep(0.01)
    return real(self, nbytes, tensors)
Progress.add = add
sys.exit(fm.main(sys.argv[3:]))
"""


def _env():
    env = dict(os.environ)
    home = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [home, env.get("PYTHONPATH")]))
    return env


class Held:
    """A `fastinit materialize ARGS` process held mid-write until `go`."""

    def __init__(self, tmp_path, tag, args, prelude=""):
        self.ready = str(tmp_path / f"ready-{tag}")
        self.go = str(tmp_path / "go")
        self.p = subprocess.Popen([sys.executable, "-c", prelude + HELD, self.ready, self.go,
                                   *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=_env())

    def wait_ready(self, timeout=120):
        t = time.monotonic()
        while not os.path.exists(self.ready):
            if self.p.poll() is not None:
                raise AssertionError(f"exited {self.p.returncode}: {self.p.stderr.read()}")
            assert time.monotonic() - t < timeout, "child never started writing"
            time.sleep(0.01)
        return self

    def release(self):
        open(self.go, "w").close()

    def finish(self, timeout=120):
        out, err = self.p.communicate(timeout=timeout)
        return self.p.returncode, err


@pytest.fixture
def spec(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    path = d / "config.json"
    path.write_text(json.dumps(GPT2))
    return str(path)


def temporaries(*folders):
    return sorted(os.path.join(f, x) for f in folders if os.path.isdir(f)
                  for x in os.listdir(f) if atomic.TAG in x)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def contents(path):
    """bytes of a file, or {name: bytes} of a folder."""
    if os.path.isdir(path):
        return {x: _read(os.path.join(path, x)) for x in sorted(os.listdir(path))}
    return _read(path)


def reference(spec, tmp_path, seed, args):
    """What a lone run with this seed writes (same options)."""
    out = tmp_path / f"ref-{seed}-{abs(hash(tuple(args)))}"
    out = str(out) + (".safetensors" if args and args[0].endswith(".safetensors") else "")
    assert fm.main([spec, "-o", out, "-q", "--seed", str(seed), *args[1:]]) == 0
    return contents(out)


# --- item: two runs to one output, exactly one wins ---------------------------------------------

TARGETS = {
    # name: (output name, existing folder?, options of run A, options of run B)
    "file": ("m.safetensors", False, [], []),
    "folder": ("m", False, [], []),
    "sharded": ("m", False, ["--max-shard-size", "300KB"], ["--max-shard-size", "300KB"]),
    "existing-folder": ("m", True, [], []),
    "existing-folder-mixed-layouts": ("m", True, [], ["--max-shard-size", "300KB"]),
    "new-folder-mixed-layouts": ("m", False, ["--max-shard-size", "300KB"], []),
}


@pytest.mark.parametrize("target", list(TARGETS))
def test_concurrent_runs_exactly_one_wins(tmp_path, spec, target):
    name, existing, opts_a, opts_b = TARGETS[target]
    work = tmp_path / "work"
    work.mkdir()
    out = str(work / name)
    if existing:
        os.mkdir(out)
        (work / name / "tokenizer.json").write_text("{}")
    runs = [Held(tmp_path, "a", [spec, "-o", out, "-q", "--seed", "1", *opts_a]),
            Held(tmp_path, "b", [spec, "-o", out, "-q", "--seed", "2", *opts_b])]
    for r in runs:
        r.wait_ready()                  # both passed every up-front check
    runs[0].release()
    (rc_a, err_a), (rc_b, err_b) = [r.finish() for r in runs]
    assert sorted([rc_a, rc_b]) == [0, 1], (rc_a, err_a, rc_b, err_b)
    loser_err = err_a if rc_a else err_b
    assert "another process" in loser_err and "nothing was replaced" in loser_err, loser_err
    assert "Traceback" not in loser_err
    # the output is the winner's, whole, and nothing else is left behind
    seed, opts = (1, opts_a) if rc_a == 0 else (2, opts_b)
    want = reference(spec, tmp_path, seed, [out, *opts])
    got = contents(out)
    if existing:
        assert got.pop("tokenizer.json") == b"{}"
    assert got == want
    assert temporaries(str(work), out) == []


def test_concurrent_runs_with_force_both_succeed(tmp_path, spec):
    out = str(tmp_path / "m.safetensors")
    runs = [Held(tmp_path, s, [spec, "-o", out, "-q", "--seed", s, "--force"]) for s in "12"]
    for r in runs:
        r.wait_ready()
    runs[0].release()
    assert [r.finish()[0] for r in runs] == [0, 0]
    assert contents(out) in (reference(spec, tmp_path, 1, [out]),
                             reference(spec, tmp_path, 2, [out]))
    assert temporaries(str(tmp_path)) == []


def test_output_created_meanwhile_by_someone_else(tmp_path, spec):
    # not a fastinit run: a plain file or folder appears under the output name
    for name, make in (("a.safetensors", lambda p: Path(p).write_text("mine")),
                       ("b", os.mkdir)):
        out = str(tmp_path / name)
        r = Held(tmp_path, name, [spec, "-o", out, "-q"]).wait_ready()
        make(out)
        r.release()
        rc, err = r.finish()
        os.unlink(r.go)
        assert rc == 1 and "another process" in err, err
        assert (_read(out) == b"mine") if name.endswith(".safetensors") else \
            os.listdir(out) == []
        assert temporaries(str(tmp_path), out) == []


@pytest.mark.parametrize("fallback", [False, True], ids=["renameat2", "link"])
def test_publish_never_replaces(tmp_path, monkeypatch, fallback):
    if fallback:
        monkeypatch.setattr(atomic, "_renameat2", None)
    # Each case must take its own path: renameat2 never links, the fallback always does.
    links = []
    real_link = os.link
    monkeypatch.setattr(os, "link", lambda *a, **k: (links.append(a), real_link(*a, **k))[1])
    src = tmp_path / "src"
    src.write_text("new")
    for kind in ("file", "dir", "empty-dir", "symlink"):
        dst = tmp_path / f"dst-{kind}"
        if kind == "file":
            dst.write_text("old")
        elif kind == "symlink":
            os.symlink("nowhere", dst)
        else:
            dst.mkdir()
            if kind == "dir":
                (dst / "x").write_text("old")
        with pytest.raises(FileExistsError):
            atomic.publish(str(src), str(dst))
        assert src.read_text() == "new"
        if kind == "file":
            assert dst.read_text() == "old"
    srcdir = tmp_path / "srcdir"
    srcdir.mkdir()
    (srcdir / "f").write_text("new")
    empty = tmp_path / "dst-empty-dir"
    with pytest.raises(FileExistsError):        # os.rename would replace an empty folder
        atomic.publish(str(srcdir), str(empty))
    assert os.listdir(empty) == [] and (srcdir / "f").read_text() == "new"
    atomic.publish(str(src), str(tmp_path / "fresh"))
    atomic.publish(str(srcdir), str(tmp_path / "freshdir"))
    assert (tmp_path / "fresh").read_text() == "new" and not src.exists()
    assert (tmp_path / "freshdir" / "f").read_text() == "new" and not srcdir.exists()
    assert bool(links) == fallback, links


# --- item: signals and killed runs leave nothing behind for long ----------------------------------

@pytest.mark.parametrize("sig", ["SIGHUP", "SIGTERM", "SIGINT"])
def test_signal_mid_write_removes_temporaries(tmp_path, spec, sig):
    out = str(tmp_path / "m.safetensors")
    r = Held(tmp_path, "a", [spec, "-o", out]).wait_ready()
    assert len(temporaries(str(tmp_path))) == 1
    r.p.send_signal(getattr(signal, sig))
    rc, err = r.finish()
    assert rc == 130 and "interrupted" in err, (rc, err)
    assert temporaries(str(tmp_path)) == [] and not os.path.exists(out)


def test_ignored_sighup_stays_ignored(tmp_path, spec):
    # nohup: SIGHUP ignored when the program starts; the run goes on when the terminal closes
    out = str(tmp_path / "m.safetensors")
    r = Held(tmp_path, "a", [spec, "-o", out, "-q"],
             prelude="import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
             ).wait_ready()
    r.p.send_signal(signal.SIGHUP)
    time.sleep(0.2)
    r.release()
    assert r.finish()[0] == 0
    assert contents(out) == reference(spec, tmp_path, 0, [out])


KILLED = {
    # name: (output name, folder exists with a checkpoint?, options)
    "file": ("m.safetensors", False, []),
    "folder": ("m", False, []),
    "force-into-folder": ("m", True, ["--force"]),
}


@pytest.mark.parametrize("target", list(KILLED))
@pytest.mark.parametrize("next_force", [True, False], ids=["then-force", "then-no-force"])
def test_killed_run_debris_removed_by_next_run(tmp_path, spec, capfd, target, next_force):
    name, existing, opts = KILLED[target]
    out = str(tmp_path / name)
    if existing:
        assert fm.main([spec, "-o", out, "-q", "--seed", "7"]) == 0
    r = Held(tmp_path, "a", [spec, "-o", out, "-q", *opts]).wait_ready()
    debris = temporaries(str(tmp_path), out)
    assert len(debris) == 1
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(debris[0])
               for f in fs) if os.path.isdir(debris[0]) else os.path.getsize(debris[0])
    # full size: blocks reserved up front
    assert size >= sum(4 * math.prod(p.shape) for p in fm.plan(spec)) > 600_000
    r.p.kill()                                  # SIGKILL: no handler runs
    r.finish()
    assert temporaries(str(tmp_path), out) == debris    # what the issue saw
    capfd.readouterr()
    rc = fm.main([spec, "-o", out, "-q", *(["--force"] if next_force else [])])
    err = capfd.readouterr().err
    assert f"removed stale temporary {debris[0]}" in err, err
    assert f"process {r.p.pid}" in err
    assert temporaries(str(tmp_path), out) == []
    # the next run itself does what it always does
    assert rc == (1 if existing and not next_force else 0)


def test_live_run_temporaries_are_kept(tmp_path, spec, capfd):
    out = str(tmp_path / "m.safetensors")
    r = Held(tmp_path, "a", [spec, "-o", out, "-q"]).wait_ready()
    theirs = temporaries(str(tmp_path))
    assert fm.main([spec, "-o", out, "-q"]) == 0            # a second run, to the end
    assert "stale" not in capfd.readouterr().err
    assert temporaries(str(tmp_path)) == theirs             # still in use: left alone
    r.release()
    rc, err = r.finish()
    assert rc == 1 and "another process" in err
    assert temporaries(str(tmp_path)) == []


def test_dry_run_reports_stale_temporaries_without_removing(tmp_path, spec, capfd):
    out = str(tmp_path / "m.safetensors")
    r = Held(tmp_path, "a", [spec, "-o", out, "-q"]).wait_ready()
    r.p.kill()
    r.finish()
    debris = temporaries(str(tmp_path))
    res = fm.materialize(spec, out, dry_run=True)
    assert res.stale == debris and temporaries(str(tmp_path)) == debris
    assert "would remove stale temporary" in capfd.readouterr().err
    res = fm.materialize(spec, out)
    assert res.stale == debris and temporaries(str(tmp_path)) == []


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_means_unlocked_and_owner_gone(tmp_path):
    me = os.getpid()
    start = atomic._start_time(me)
    dead = _dead_pid()
    names = {
        "dead": f".m.safetensors{atomic.TAG}{dead}-123-0123abcd",
        "dead-old-format": f".m.safetensors{atomic.TAG}{dead}-89abcdef",
        "alive": f".m.safetensors{atomic.TAG}{me}-{start or 0}-00000001",
        "dead-but-locked": f".m.safetensors{atomic.TAG}{dead}-5-00000002",
        "other-output": f".n.safetensors{atomic.TAG}{dead}-5-00000003",
        "not-a-temporary": f".m.safetensors{atomic.TAG}{dead}-5-zzzzzzzz",
    }
    if start is not None:       # Linux: an id in use by a process started at another time
        names["reused-pid"] = f".m.safetensors{atomic.TAG}{me}-{start + 1}-00000004"
    for n in names.values():
        (tmp_path / n).write_bytes(b"x" * 100)
    fd = os.open(tmp_path / names["dead-but-locked"], os.O_RDONLY)
    try:
        assert atomic.lock(fd)
        found = atomic.stale_temporaries(str(tmp_path), ".m.safetensors", remove=True)
    finally:
        os.close(fd)
    want = {"dead", "dead-old-format"} | ({"reused-pid"} if start is not None else set())
    assert sorted(p for p, _, _ in found) == sorted(str(tmp_path / names[k]) for k in want)
    assert all(size == 100 for _, size, _ in found)
    assert sorted(os.listdir(tmp_path)) == sorted(v for k, v in names.items() if k not in want)


def test_temp_names_carry_pid_and_start_time():
    name = atomic.temp_name(".x")
    m = atomic._NAME.fullmatch(name)
    assert m and m.group("prefix") == ".x" and int(m.group("pid")) == os.getpid()
    assert int(m.group("start")) == (atomic._start_time(os.getpid()) or 0)
    assert atomic.owner_alive(os.getpid(), int(m.group("start")))
    assert not atomic.owner_alive(_dead_pid(), 0)
