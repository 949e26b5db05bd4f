#!/usr/bin/env bash
# CI: the Python golden and NumPy-identity tests on aarch64 Linux, emulated by qemu-user.
#
# Debian's arm64 CPython and its libraries are unpacked into a private root (no chroot, no
# binfmt_misc: qemu-aarch64-static runs the interpreter with -L root), NumPy, ml_dtypes and
# pytest come as aarch64 wheels from the package index, and the extension is cross-compiled
# here against the C core built with cmake/toolchains/aarch64-linux-gnu.cmake. Tests that
# start subprocesses are not among those run: without binfmt_misc a child cannot exec the
# arm64 interpreter. Emulated runs prove bits, never speed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t_start=$(date +%s)

need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
if ((${#need[@]})); then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "== arm64 CPython from Debian into a private root"
# apt on private lists/cache/status, so that the host's apt state is left alone
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/debs" "$work/root"
: > "$work/apt/status"
apt_arm64=(apt-get -qq -o APT::Architecture=arm64 -o APT::Architectures::=arm64
           -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache"
           -o Dir::State::status="$work/apt/status" -o APT::Sandbox::User=root
           -o Debug::NoLocking=1)
"${apt_arm64[@]}" update
"${apt_arm64[@]}" install -y --download-only --no-install-recommends python3.11 libstdc++6 libgomp1 > /dev/null
(cd "$work/debs" && "${apt_arm64[@]}" download libpython3.11-dev)      # headers only
for deb in "$work"/apt/cache/archives/*.deb "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
py=(qemu-aarch64-static -L "$work/root" "$work/root/usr/bin/python3.11")
t_root=$(date +%s)

echo "== aarch64 wheels: numpy, ml_dtypes, pytest"
python3 -m venv "$work/host"
"$work/host/bin/python" -m pip install -q --upgrade pip cython
"$work/host/bin/python" -m pip install -q --target "$work/site" --only-binary=:all: \
    --implementation cp --python-version 3.11 --platform manylinux_2_17_aarch64 \
    --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 numpy ml_dtypes pytest
t_wheels=$(date +%s)

echo "== C core and extension, cross-compiled"
cmake -S . -B "$work/engine" -DFASTINIT_PYTHON=OFF \
      -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" > "$work/engine.log" 2>&1 \
    || { cat "$work/engine.log"; exit 1; }
cmake --build "$work/engine" -j "$(nproc 2>/dev/null || echo 2)" >> "$work/engine.log" 2>&1 \
    || { cat "$work/engine.log"; exit 1; }
mkdir -p "$work/stage"
cp -r fastinit tests "$work/stage/"
"$work/host/bin/cython" -I "$work/site" fastinit/_core.pyx --output-file "$work/_core.c"   # numpy's .pxd
numpy_inc=$(ls -d "$work"/site/numpy/_core/include)
aarch64-linux-gnu-gcc -O2 -shared -fPIC -fopenmp -I "$work/root/usr/include" \
    -I "$work/root/usr/include/python3.11" -I "$numpy_inc" -I src \
    -DNPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION "$work/_core.c" "$work/engine/libfastinit_engine.a" \
    -o "$work/stage/fastinit/_core.cpython-311-aarch64-linux-gnu.so"
t_build=$(date +%s)

echo "== golden values and NumPy identity on aarch64 (qemu)"
cd "$work/stage"
PYTHONPATH="$work/stage:$work/site" "${py[@]}" -c \
    "import fastinit, numpy, platform; print(platform.machine(), 'numpy', numpy.__version__, 'simd', fastinit.simd_path())"
PYTHONPATH="$work/stage:$work/site" "${py[@]}" -m pytest -q -p no:cacheprovider \
    tests/test_golden.py tests/test_numpy_identity.py
t_end=$(date +%s)
echo "== python-aarch64: root $((t_root - t_start)) s, wheels $((t_wheels - t_root)) s," \
     "build $((t_build - t_wheels)) s, tests $((t_end - t_build)) s"
