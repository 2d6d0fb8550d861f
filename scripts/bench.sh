#!/usr/bin/env bash
# bench.sh [--quick|--full] [--out FILE.json] [convkit-bench / --benchmark_* flags...]
# Build convkit-bench (Release, -DCONVKIT_BUILD_BENCH=ON, in build/bench) and run it,
# writing Google Benchmark JSON (default out/bench-<preset>-<date>.json; the console table
# goes to the terminal). --full (the default) takes a long while; --quick about a minute.
# Results are written to a temporary file and renamed, so a failed run leaves no JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=--full
out=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick|--full) preset=$1 ;;
    --out) [ $# -ge 2 ] || { echo "bench.sh: --out needs a file name" >&2; exit 2; }
           out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) extra+=("$1") ;;
  esac
  shift
done
[ -n "$out" ] || out="out/bench-${preset#--}-$(date +%Y%m%d-%H%M%S).json"
mkdir -p "$(dirname "$out")"

build=build/bench
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
      -DCONVKIT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target convkit_bench >/dev/null

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
"$build/bin/convkit-bench" "$preset" --benchmark_out="$tmp" --benchmark_out_format=json \
    ${extra[@]+"${extra[@]}"}
mv "$tmp" "$out"
trap - EXIT
echo "bench.sh: results in $out (scripts/bench-report.sh $out makes tables and plots)"
