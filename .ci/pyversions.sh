#!/usr/bin/env bash
# The core tests (golden values, numpy identity, invariance, errors) on every other CPython
# this machine has (pyenv's, 3.11 and newer), each from a source build in a fresh virtual
# environment with NumPy and the test tools from the package index.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
main=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pyroot=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
declare -A seen=(["$main"]=1)
ran=0
for py in "$pyroot"/versions/*/bin/python3; do
    [ -x "$py" ] || continue
    ver=$("$py" -c 'import sys; v = sys.version_info; sys.stdout.write("%d.%d" % (v[0], v[1]) if v >= (3, 11) else "")' 2>/dev/null || true)
    [ -n "$ver" ] && [ -z "${seen[$ver]:-}" ] || continue
    seen[$ver]=1
    start=$(date +%s)
    echo "== CPython $ver ($py)"
    "$py" -m venv "$work/$ver"
    "$work/$ver/bin/python" -m pip install --quiet -C build-dir="$work/build-$ver" . \
        "pytest>=8" "ml_dtypes>=0.4"
    (cd "$work" && "$work/$ver/bin/python" -P -m pytest -q -p no:cacheprovider --rootdir "$root" \
        "$root/tests/test_golden.py" "$root/tests/test_numpy_identity.py" \
        "$root/tests/test_invariance.py" "$root/tests/test_errors.py")
    echo "== CPython $ver: $(( $(date +%s) - start )) s"
    ran=$((ran + 1))
done
echo "== other CPython versions tested: $ran"
