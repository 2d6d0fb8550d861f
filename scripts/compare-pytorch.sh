#!/usr/bin/env bash
# compare-pytorch.sh [--install] [FILE.json] [--filter REGEX] [--min-time S]
# (--filter matches "<pass>/<descriptor>/<threads>" and "<train|infer>/mb<B>/<threads>";
# --min-time: seconds per PyTorch measurement, default 0.2).
# Run the convolution problems of a convkit-bench JSON (default: the newest out/bench-*.json,
# or a fresh `scripts/bench.sh --quick` run if there is none) in PyTorch with the same
# thread counts, plus the seed CNN training/inference step when the JSON has net cases, and
# print convkit/PyTorch ratios side by side (a Markdown table). Uses Debian's
# /usr/bin/python3; without PyTorch it says so and exits 0. --install: apt-get install
# python3-torch first (never done by scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
install=0
json=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --install) install=1 ;;
    --filter|--min-time)
      [ $# -ge 2 ] || { echo "compare-pytorch.sh: $1 needs a value" >&2; exit 2; }
      extra+=("$1" "$2"); shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "compare-pytorch.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) json=$1 ;;
  esac
  shift
done

if [ "$install" = 1 ] && ! "$py" -c 'import torch' 2>/dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch
fi
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "compare-pytorch.sh: PyTorch is not installed for $py (Debian package python3-torch);"
  echo "  nothing to compare. Install it with: scripts/compare-pytorch.sh --install"
  exit 0
fi

if [ -z "$json" ]; then
  json=$(ls -t out/bench-*.json 2>/dev/null | head -n 1 || true)
  if [ -z "$json" ]; then
    echo "compare-pytorch.sh: no out/bench-*.json yet; running scripts/bench.sh --quick first"
    bash scripts/bench.sh --quick --out out/bench-quick.json
    json=out/bench-quick.json
  fi
fi
[ -r "$json" ] || { echo "compare-pytorch.sh: $json: cannot read the file" >&2; exit 2; }
exec "$py" scripts/bench_tool.py pytorch "$json" ${extra[@]+"${extra[@]}"}
