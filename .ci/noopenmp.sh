#!/usr/bin/env bash
# A build without OpenMP (what a compiler without it, such as Apple's clang, gives): it must
# say so (show_config, a one-time warning) and keep the golden values. Installed into a
# throwaway virtual environment layered on the current one (numpy, pytest, threadpoolctl).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m venv "$work/venv"
site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
python -c 'import sys; print("\n".join(p for p in sys.path if p.endswith("site-packages")))' \
    > "$site/base.pth"
# the build backend and Cython, which a venv made for the tests does not hold
"$work/venv/bin/python" -m pip install --quiet "scikit-build-core>=0.10" "cython>=3.0"
"$work/venv/bin/python" -m pip install --quiet --no-build-isolation --no-deps \
    -C cmake.define.FASTINIT_OPENMP=OFF -C build-dir="$work/build" .
(cd "$work" && "$work/venv/bin/python" -c \
    'import fastinit; assert not fastinit.show_config("dicts")["build"]["openmp"]; fastinit.show_config()')
"$work/venv/bin/python" -P -m pytest -q -p no:cacheprovider tests/test_threads.py tests/test_golden.py \
    tests/test_fork.py
echo "== build without OpenMP: $(( $(date +%s) - start )) s"
