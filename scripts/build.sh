#!/usr/bin/env bash
# build.sh [release|asan] [extra cmake args...] - configure and build into build/<kind>.
# release: -O2/-O3 Release build with tests; asan: Debug + AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
case "$kind" in
  release) args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=Debug -DCONVKIT_SANITIZE=ON) ;;
  *) echo "build.sh: unknown build kind '$kind' (release or asan)" >&2; exit 2 ;;
esac
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "build/$kind" "${args[@]}" "$@" >/dev/null
cmake --build "build/$kind" -j "$jobs"
