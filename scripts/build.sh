#!/usr/bin/env bash
# build.sh [release|asan] [extra cmake args...] - configure and build into build/<kind>.
# release: Release build with tests; asan: Debug + AddressSanitizer + UBSan;
# portable: Release without OpenMP and without the AVX2 kernels (DESIGN section 6).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
case "$kind" in
  release) args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=Debug -DCONVKIT_SANITIZE=ON) ;;
  portable) args=(-DCMAKE_BUILD_TYPE=Release -DCONVKIT_OPENMP=OFF -DCONVKIT_AVX2=OFF) ;;
  *) echo "build.sh: unknown build kind '$kind' (release, asan or portable)" >&2; exit 2 ;;
esac
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "build/$kind" "${args[@]}" "$@" >/dev/null
cmake --build "build/$kind" -j "$jobs"
