#!/usr/bin/env bash
# test.sh - the README's test command: install what is missing, build, and run the whole
# Criterion suite three times: a Release build, a portable build (no OpenMP, no AVX2
# kernels), then a Debug build under AddressSanitizer + UndefinedBehaviorSanitizer. Also checks that an installed convkit can be found by
# pkg-config and by CMake's find_package, and smoke-runs the benchmark harness
# (`scripts/bench.sh --quick` and its report; no timing is asserted, only that every
# case runs or is skipped with a reason). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
start=$(date +%s)

echo "== release build + tests"
bash scripts/build.sh release
(cd build/release && ctest --output-on-failure)

echo "== install check (pkg-config and find_package)"
bash scripts/check-install.sh build/release

echo "== benchmark smoke run (scripts/bench.sh --quick; timings are not checked)"
bash scripts/bench.sh --quick --out build/bench/smoke.json >build/bench-smoke.log 2>&1 ||
  { tail -n 30 build/bench-smoke.log; echo "benchmark smoke run failed" >&2; exit 1; }
bash scripts/bench-report.sh build/bench/smoke.json build/bench/report >/dev/null
echo "bench: $(grep -c '"run_name"' build/bench/smoke.json) cases ran; report in build/bench/report/"

echo "== portable build (no OpenMP, no AVX2 kernels) + tests"
bash scripts/build.sh portable
(cd build/portable && ctest --output-on-failure)

echo "== AddressSanitizer + UBSan build + tests"
bash scripts/build.sh asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd build/asan && ctest --output-on-failure)

echo "== all tests passed in $(( $(date +%s) - start )) s"
