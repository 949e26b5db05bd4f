#!/usr/bin/env bash
# CI: the C core and its test program (tests/c/test_engine.c: golden values of every sampler x
# dtype, invariances over SIMD paths, threads, layouts and blocks) on every platform this machine
# can build for and emulate. Emulated runs prove bits, never speed.
#
#   x86-64 Linux     GCC and Clang, native __int128 and the portable 64-bit limbs (GCC's in
#                    strict, pedantic ISO C11)
#   aarch64 Linux    GCC under qemu-aarch64-static: a NEON-only CPU, and SVE at 512 bits (also the
#                    SVE vector generator forced onto 384-bit vectors, and
#                    128 and 256 bits once the test reports an SVE path);
#                    Clang without OpenMP (the macOS configuration's compiler and threads)
#   x86-64 Windows   MinGW-w64 GCC with the portable limbs (_umul128, __cpuidex) under wine64
#
# Usage: .ci/cross.sh [name ...]   (default: all runs; names as printed by the "==" lines)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)
t_start=$(date +%s)

# Tools from the Debian registry, only those missing.
need=()
command -v gcc >/dev/null || need+=(gcc)
command -v clang >/dev/null || need+=(clang)
[ -e /usr/lib/llvm-14/lib/libomp.so ] || ls /usr/lib/llvm-*/lib/libomp.so >/dev/null 2>&1 || need+=(libomp-dev)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v x86_64-w64-mingw32-gcc-posix >/dev/null || need+=(gcc-mingw-w64-x86-64)
[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
if ((${#need[@]})); then
    echo "== installing: ${need[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" \
        > "$work/apt.log" || { cat "$work/apt.log"; exit 1; }
fi
t_tools=$(date +%s)

# wine: a private prefix, quiet, with the cross compiler's libgomp/libwinpthread DLLs on its path
export WINEPREFIX="$work/wine" WINEDEBUG=-all
WINEPATH="$(dirname "$(x86_64-w64-mingw32-gcc-posix -print-file-name=libgomp-1.dll)");$(dirname "$(x86_64-w64-mingw32-gcc-posix -print-file-name=libwinpthread-1.dll)")"
export WINEPATH
qemu=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
arm=(-DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake")
win=(-DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/mingw-w64-x86_64.cmake")

build() {   # build NAME CC [cmake args...]: the C test program in $work/NAME
    local name=$1 cc=$2
    shift 2
    CC=$cc cmake -S "$root" -B "$work/$name" -DFASTINIT_PYTHON=OFF -DFASTINIT_CTEST=ON "$@" \
        > "$work/$name.log" 2>&1 || { cat "$work/$name.log"; echo "FAILED: build $name"; exit 1; }
    cmake --build "$work/$name" -j "$jobs" >> "$work/$name.log" 2>&1 \
        || { cat "$work/$name.log"; echo "FAILED: build $name"; exit 1; }
    echo "== built $name: $(grep -m1 'C compiler identification' "$work/$name.log" | sed 's/.*identification is //')"
}

runs=0
checked=""
check() {   # check NAME COMMAND...: run one test program, which prints what it checked
    local name=$1
    shift
    echo "== $name"
    local t0 out
    t0=$(date +%s)
    out=$("$@" 2>&1) || { echo "$out"; echo "FAILED: $name"; exit 1; }
    echo "$out" | tail -2 | sed 's/^/   /'
    checked=$(echo "$out" | grep 'checked on:' || true)
    echo "   ($(( $(date +%s) - t0 )) s)"
    runs=$((runs + 1))
}

selected=("$@")
sel() {     # whether run NAME was asked for (all by default)
    ((${#selected[@]} == 0)) && return 0
    local s
    for s in "${selected[@]}"; do [[ $1 == "$s"* ]] && return 0; done
    return 1
}

if sel gcc-x86_64; then
    build gcc-x86_64 gcc && check gcc-x86_64 "$work/gcc-x86_64/test_engine"
    # the limbs in strict ISO C11, pedantic: what MSVC's C11 mode would meet outside the #ifdefs
    build gcc-x86_64-limbs gcc -DFASTINIT_PORTABLE_U128=ON -DCMAKE_C_EXTENSIONS=OFF \
          -DCMAKE_C_FLAGS="-pedantic-errors -Werror=vla" \
        && check gcc-x86_64-limbs "$work/gcc-x86_64-limbs/test_engine"
fi
if sel clang-x86_64; then
    build clang-x86_64 clang && check clang-x86_64 "$work/clang-x86_64/test_engine"
    build clang-x86_64-limbs clang -DFASTINIT_PORTABLE_U128=ON && check clang-x86_64-limbs "$work/clang-x86_64-limbs/test_engine"
fi
if sel gcc-aarch64; then
    build gcc-aarch64 aarch64-linux-gnu-gcc "${arm[@]}"
    check gcc-aarch64-neon "${qemu[@]}" -cpu cortex-a72 "$work/gcc-aarch64/test_engine"   # no SVE
    check gcc-aarch64-max "${qemu[@]}" -cpu max "$work/gcc-aarch64/test_engine"           # SVE at 512 bits
    if [[ $checked == *sve* ]]; then   # SVE kernels built: also the vector lengths of shipping cores
        check gcc-aarch64-sve128 "${qemu[@]}" -cpu max,sve-default-vector-length=16 "$work/gcc-aarch64/test_engine"
        check gcc-aarch64-sve256 "${qemu[@]}" -cpu max,sve-default-vector-length=32 "$work/gcc-aarch64/test_engine"
    fi
    if [[ $checked == *sve* ]]; then   # the vector generator (normally from 512 bits) on narrower vectors
        build gcc-aarch64-svegen aarch64-linux-gnu-gcc "${arm[@]}" -DCMAKE_C_FLAGS=-DFI_SVE_WIDE_BITS=128
        check gcc-aarch64-svegen384 env FASTINIT_EXPECT_SIMD=sve "${qemu[@]}" -cpu max,sve-max-vq=3 "$work/gcc-aarch64-svegen/test_engine"
    fi
    build gcc-aarch64-limbs aarch64-linux-gnu-gcc "${arm[@]}" -DFASTINIT_PORTABLE_U128=ON
    check gcc-aarch64-limbs "${qemu[@]}" -cpu max "$work/gcc-aarch64-limbs/test_engine"
fi
if sel clang-aarch64; then
    # no OpenMP runtime for arm64 here: single-threaded, as with Apple's clang without libomp
    build clang-aarch64 clang "${arm[@]}" -DCMAKE_C_COMPILER_TARGET=aarch64-linux-gnu -DFASTINIT_OPENMP=OFF
    check clang-aarch64 "${qemu[@]}" -cpu max "$work/clang-aarch64/test_engine"
fi
if sel mingw-x86_64; then
    build mingw-x86_64-limbs x86_64-w64-mingw32-gcc-posix "${win[@]}" -DFASTINIT_PORTABLE_U128=ON
    /usr/lib/wine/wine64 wineboot -i > /dev/null 2>&1 || true      # create the prefix once
    check mingw-x86_64-limbs /usr/lib/wine/wine64 "$work/mingw-x86_64-limbs/test_engine.exe"
fi

t_end=$(date +%s)
echo "== cross: $runs runs passed; tools $((t_tools - t_start)) s, builds and runs $((t_end - t_tools)) s"
