"""`import fastinit` / `python -m fastinit` from a source checkout (no compiled _core) explain
what happened and what to do, instead of a circular-import message."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory):
    """A copy of the repository's package folder without any compiled module, as a fresh
    checkout has it."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(os.path.join(ROOT, "fastinit"), root / "fastinit",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), root / "pyproject.toml")
    return root


@pytest.mark.parametrize("argv", [["-c", "import fastinit"], ["-m", "fastinit", "info"]],
                         ids=["import", "python -m"])
def test_source_tree_import_explains(source_tree, argv):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    proc = subprocess.run([sys.executable, *argv], cwd=source_tree, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    err = proc.stderr
    assert "ImportError" in err
    assert "source tree" in err and "pip install" in err, err
    assert "circular import" not in err.splitlines()[-1], err
