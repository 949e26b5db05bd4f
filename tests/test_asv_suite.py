"""The asv suite in benchmarks/ is well formed: asv finds no broken benchmark in it.

asv collects every ``time_*``/``track_*``/``mem_*`` function of every module it imports from
the benchmark directory, so a standalone script there with a helper named ``time_one`` shows
up as a failing benchmark. The scripts live in ``benchmarks/scripts/`` (no ``__init__.py``,
so asv does not import them).
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "asv.conf.json")),
                                reason="needs the source checkout (asv.conf.json)")


def test_asv_check_finds_no_problem():
    # --python=same: the current interpreter, no environment built, no network, no git remote
    p = subprocess.run([sys.executable, "-m", "asv", "check", "--python=same"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "No problems found" in p.stdout, p.stdout


def test_standalone_scripts_are_outside_the_suite():
    from asv_runner.discovery import disc_benchmarks
    bench = os.path.join(ROOT, "benchmarks")
    sys.path.insert(0, ROOT)
    try:
        names = [b.name for b in disc_benchmarks(bench)]
    finally:
        sys.path.remove(ROOT)
        for m in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.")]:
            del sys.modules[m]
    assert names, "asv discovered no benchmark"
    assert all(n.split(".")[0].startswith("bench_") for n in names), names
    scripts = os.path.join(bench, "scripts")
    assert not os.path.exists(os.path.join(scripts, "__init__.py"))
    for f in os.listdir(scripts):
        if f.endswith(".py"):      # each script still runs: --help parses its options
            p = subprocess.run([sys.executable, os.path.join(scripts, f), "--help"],
                               capture_output=True, text=True, timeout=120)
            assert p.returncode == 0 and "usage" in p.stdout, (f, p.stderr)
