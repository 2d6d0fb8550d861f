#!/usr/bin/env bash
# bench-report.sh FILE.json [OUTDIR] - turn convkit-bench JSON into OUTDIR/bench.md
# (Markdown tables: summary per backend, every problem, GEMM, networks, skipped cases)
# and PNG plots with gnuplot: GFLOP/s vs filter size, vs stride, vs padding, thread
# scaling, accuracy vs speed (OUTDIR/bench-*.png). OUTDIR defaults to out/.
# Needs only /usr/bin/python3 (stdlib) and gnuplot.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: bench-report.sh FILE.json [OUTDIR]" >&2
  exit 2
fi
json=$1
outdir=${2:-out}
[ -r "$json" ] || { echo "bench-report.sh: $json: cannot read the file" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "bench-report.sh: gnuplot is not installed" >&2; exit 1; }
mkdir -p "$outdir"
/usr/bin/python3 "$here/bench_tool.py" report "$json" "$outdir"
gnuplot "$outdir/plots/plots.gp" 2> "$outdir/plots/gnuplot.log" || {
  echo "bench-report.sh: gnuplot failed, see $outdir/plots/gnuplot.log" >&2; exit 1; }
echo "bench-report.sh: $outdir/bench.md and $outdir/bench-{filter,stride,padding,threads,accuracy}.png"
