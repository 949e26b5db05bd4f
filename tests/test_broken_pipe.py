"""Command-line output into a pipe whose reader has gone (``fastinit ... | head -1``).

The read end of the child's stdout (or stderr) pipe is closed before the child starts, so
its first write fails with EPIPE every time: no race with a real ``head``.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")

GPT2 = {"model_type": "gpt2", "n_embd": 64, "n_layer": 30, "n_head": 4, "n_positions": 64,
        "vocab_size": 1000}


def run_into_closed_pipe(args, which="stdout", cwd=None):
    r, w = os.pipe()
    os.close(r)
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, which: w}
    try:
        p = subprocess.run([sys.executable, "-m", *args], text=True, timeout=300, cwd=cwd,
                           **streams)
    finally:
        os.close(w)
    return p


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(GPT2))
    return str(path)


@pytest.mark.parametrize("module", ["fastinit", "fastinit.materialize"])
def test_materialize_dry_run_into_closed_pipe(tmp_path, spec, module):
    args = [module] + (["materialize"] if module == "fastinit" else [])
    p = run_into_closed_pipe(args + [spec, "-o", str(tmp_path / "o"), "--dry-run"])
    assert p.stderr == ""
    assert p.returncode == 141
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_materialize_progress_into_closed_pipe(tmp_path, spec):
    # progress goes to stderr: `fastinit materialize ... 2>&1 | head -1`
    p = run_into_closed_pipe(["fastinit", "materialize", spec, "-o", str(tmp_path / "o")],
                             which="stderr")
    assert p.stdout == ""
    assert p.returncode == 141
    assert sorted(os.listdir(tmp_path)) == ["config.json"]        # temporaries removed


@pytest.mark.parametrize("args", [
    ["info"],
    ["bench", "--size", "4KiB", "--peers", "none", "--cases", "normal", "--repeat", "1",
     "--warmup", "0", "-q"],
    ["bench", "--size", "4KiB", "--peers", "none", "--cases", "normal", "--repeat", "1",
     "--warmup", "0", "-q", "--json"],
], ids=["info", "bench", "bench-json"])
def test_other_commands_into_closed_pipe(tmp_path, args):
    p = run_into_closed_pipe(["fastinit", *args], cwd=tmp_path)
    assert p.stderr == ""
    assert p.returncode == 141


def test_normal_output_unchanged(tmp_path, spec):
    p = subprocess.run([sys.executable, "-m", "fastinit", "materialize", spec, "-o",
                        str(tmp_path / "o"), "--dry-run"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("transformer.wte.weight\t[1000, 64]\tfloat32\tnormal(")
    assert lines[-1].startswith("# ")
