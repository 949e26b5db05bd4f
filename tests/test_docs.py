"""The documentation's code runs: every Python block of docs/*.md and every docstring example.

Each page's blocks run in order in one fresh interpreter (a page reads like one session), in an
empty working directory, without ``KERAS_BACKEND`` in the environment (a page that imports keras
must choose its backend itself, as a reader's script must). A block marked ``:class: skip-run``
needs something a test machine does not have (a cluster address); each such block is listed in
``SKIPPED`` and its logic is run here against a local stand-in.
"""

import doctest
import importlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md"))

# A fenced block: ```python or ```{code-block} python, then MyST options (":key: value").
_FENCE = re.compile(r"^(?P<fence>`{3,})\s*(?:\{code-block\}\s*)?(?P<lang>python|pycon)\s*$")


def code_blocks(path):
    """[(line, source, options)] of the Python blocks of a MyST page, in page order."""
    lines = Path(path).read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start, opts = m.group("fence"), i + 1, {}
        i += 1
        while i < len(lines) and re.match(r"^:[\w-]+:", lines[i]):
            key, _, value = lines[i][1:].partition(":")
            opts[key] = value.strip()
            i += 1
        body = []
        while i < len(lines) and lines[i].rstrip() != fence:
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{path}:{start}: unclosed code block")
        blocks.append((start, "\n".join(body) + "\n", opts))
        i += 1
    return blocks


def _skipped(opts):
    return "skip-run" in opts.get("class", "").split()


# Blocks that cannot run here, by page: what each needs, and the test that runs its logic.
SKIPPED = {
    "dask.md": ["a Dask cluster address -> test_dask_cluster_block_on_local_cluster"],
    "torch.md": ["a torchrun process group -> tests/test_torch_distributed.py (FSDP2 recipe)"],
}

_RUNNER = textwrap.dedent("""
    import json, sys, traceback
    blocks = json.load(sys.stdin)
    ns = {"__name__": "__main__"}
    for line, src in blocks:
        try:
            exec(compile(src, f"{sys.argv[1]}:{line}", "exec"), ns)
        except BaseException:
            traceback.print_exc()
            sys.exit(f"block at {sys.argv[1]}:{line} failed")
""")


def run_blocks(name, blocks, cwd, timeout=240):
    import json
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(cwd)          # no user keras.json choosing a backend either
    env.setdefault("OMP_NUM_THREADS", "2")
    proc = subprocess.run([sys.executable, "-c", _RUNNER, name], input=json.dumps(blocks),
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_page_code_runs(page, tmp_path):
    blocks = code_blocks(DOCS / page)
    runnable = [(line, src) for line, src, opts in blocks if not _skipped(opts)]
    skipped = [line for line, _, opts in blocks if _skipped(opts)]
    assert len(skipped) == len(SKIPPED.get(page, [])), (
        f"{page}: skip-run blocks at lines {skipped}; each must be listed in SKIPPED with "
        f"the test that covers it")
    if runnable:
        run_blocks(page, runnable, tmp_path)


README = DOCS.parent / "README.md"


def test_readme_code_runs(tmp_path):
    # The README's examples are the first code a newcomer copies: each runs, none is skipped.
    blocks = code_blocks(README)
    assert len(blocks) >= 4 and not any(_skipped(opts) for _, _, opts in blocks)
    run_blocks("README.md", [(line, src) for line, src, _ in blocks], tmp_path)


def test_readme_is_short_and_holds_the_two_commands():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    venv = "python3 -m venv .venv && . .venv/bin/activate && "
    assert venv + "pip install . && fastinit bench" in text
    assert venv + 'pip install ".[test]" && pytest tests' in text
    # CI runs that same set-up and test command.
    ci = (DOCS.parent / ".ci" / "run").read_text()
    assert 'pip install --quiet ".[test]"' in ci and "pytest -q -p no:cacheprovider tests" in ci
    # Every relative link of the README points at a file of the repository.
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)", text):
        assert (DOCS.parent / target).exists(), target


def test_every_guide_page_has_code():
    # The extractor finds the blocks (a change of fence syntax must not silently run nothing).
    counts = {p.name: len(code_blocks(p)) for p in PAGES}
    for page in ("getting-started.md", "initializers.md", "contract.md", "torch.md", "jax.md",
                 "keras.md", "dask.md", "materialize.md"):
        assert counts.get(page, 0) >= 2, counts


def test_extractor_reads_fences_and_options(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("text\n```python\nx = 1\n```\n\n````{code-block} python\n"
                    ":class: skip-run\n:caption: c\ny = 2\n```\nz = 3\n````\n```bash\nls\n```\n")
    blocks = code_blocks(page)
    assert [(b[0], b[1]) for b in blocks] == [(2, "x = 1\n"), (6, "y = 2\n```\nz = 3\n")]
    assert _skipped(blocks[1][2]) and not _skipped(blocks[0][2])


def test_failing_block_is_reported(tmp_path):
    with pytest.raises(AssertionError, match=r"page.md:7 failed"):
        run_blocks("page.md", [(3, "x = 1\n"), (7, "x + undefined_name\n")], tmp_path)


def test_dask_cluster_block_on_local_cluster(tmp_path):
    # The cluster block of dask.md, with the cluster address and the shared storage replaced
    # by a local cluster of two worker processes and a local folder, and a smaller tensor.
    (line, src, opts), = [b for b in code_blocks(DOCS / "dask.md") if _skipped(b[2])]
    swaps = {
        'Client("tcp://scheduler:8786")':
            'Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True, '
            'dashboard_address=None))',
        "(1_000_000, 65_536)": "(1000, 64)",
        "chunks=(8192, 65_536)": "chunks=(256, 64)",
        '"s3://bucket/init/embed.zarr"': '"embed.zarr"',
    }
    for old, new in swaps.items():
        assert old in src, f"dask.md:{line}: the cluster block no longer contains {old!r}"
        src = src.replace(old, new)
    check = textwrap.dedent("""
        import numpy as np, zarr, fastinit
        from distributed import LocalCluster
        got = zarr.open_array("embed.zarr", mode="r")[...]
        want = fastinit.normal((1000, 64), 0.0, 0.02, rng=fastinit.seed_for(0, "embed"))
        assert (got == want).all()
        client.close()
    """)
    run_blocks("dask.md", [(0, "from distributed import LocalCluster\n"), (line, src),
                           (0, check)], tmp_path)


# -- docstring examples ---------------------------------------------------------------------

def _modules():
    import pkgutil
    import fastinit
    return ["fastinit"] + sorted(name for _, name, _ in
                                 pkgutil.walk_packages(fastinit.__path__, "fastinit."))


MODULES = _modules()


def _doctests(modname):
    mod = importlib.import_module(modname)
    return [t for t in doctest.DocTestFinder(exclude_empty=True).find(mod, modname) if t.examples]


@pytest.mark.parametrize("modname", MODULES)
def test_docstring_examples(modname, tmp_path, monkeypatch):
    if modname == "fastinit.keras":
        monkeypatch.setenv("KERAS_BACKEND", "jax")
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != "jax":
            pytest.fail("keras already imported with another backend")
    monkeypatch.chdir(tmp_path)
    tests = _doctests(modname)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    out = []
    for t in tests:
        t.globs.setdefault("np", importlib.import_module("numpy"))
        runner.run(t, out=out.append)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, "".join(out)


def test_docstring_examples_are_collected():
    # The finder sees the examples that exist (a module without any is not a silent pass).
    # It keeps only what a module defines, so a package's examples are counted over the
    # package and its submodules, where its functions live.
    for modname in ("fastinit.samplers", "fastinit.initializers", "fastinit.seeding"):
        found = sum(len(t.examples) for m in MODULES
                    if m == modname or m.startswith(modname + ".") for t in _doctests(m))
        assert found >= 3, modname
    assert "fastinit.torch" in MODULES and "fastinit.materialize" in MODULES


def test_link_checker_finds_broken_internal_links(tmp_path):
    sys.path.insert(0, str(DOCS))
    try:
        import check_links
    finally:
        sys.path.remove(str(DOCS))
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#here">ok</a> <a href="#top" id="top">self</a>'
        '<a href="https://example.org/x.html">external</a><img src="sub/pic.png">')
    (tmp_path / "sub" / "page.html").write_text('<h1 id="here">x</h1><a href="../index.html">up</a>')
    (tmp_path / "sub" / "pic.png").write_bytes(b"")
    assert check_links.check(tmp_path) == []
    (tmp_path / "sub" / "page.html").write_text(
        '<a href="../index.html#nowhere">a</a><a href="missing.html">b</a><img src="no.png">')
    assert sorted(check_links.check(tmp_path)) == [
        "index.html: sub/page.html#here (no such anchor)",
        "sub/page.html: ../index.html#nowhere (no such anchor)",
        "sub/page.html: missing.html (no such file)",
        "sub/page.html: no.png (no such file)",
    ]


def test_docs_figures_are_drawn(tmp_path):
    # The performance figures are drawn from the recorded numbers when the docs are built.
    sys.path.insert(0, str(DOCS))
    try:
        import _figures
    finally:
        sys.path.remove(str(DOCS))
    paths = _figures.build(str(tmp_path))
    assert sorted(os.path.basename(p) for p in paths) == ["speedups.png", "sweep-size.png"]
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
