#!/usr/bin/env bash
# compare-fashion.sh [SEEDS] [EPOCHS] - test accuracy of the seed CNN on Fashion-MNIST with
# PyTorch's recipe (SGD lr 0.01, momentum 0.9, batch 64, constant rate), convkit and
# PyTorch 1.13 (scripts/pytorch_fashion.py) each with seeds 1..SEEDS (default 3) for EPOCHS
# (default 3), 2 threads, one run at a time. Prints a Markdown table: accuracy per epoch
# per seed, and each side's range, so "within noise" can be read off. Uses Debian's
# /usr/bin/python3; without PyTorch it runs the convkit side only and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}
epochs=${2:-3}
data=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
py=/usr/bin/python3
bash scripts/build.sh release >/dev/null
ck=build/release/bin/convkit
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rows=()
for s in $(seq "$seeds"); do
  "$ck" train --model seed-cnn --dataset fashion-mnist --data-dir "$data" --epochs "$epochs" \
    --optimizer sgd --lr 0.01 --momentum 0.9 --schedule constant --batch 64 --seed "$s" \
    --threads 2 --log "$tmp/ck$s.csv" >/dev/null
  rows+=("convkit|$s|$(tail -n +2 "$tmp/ck$s.csv" | cut -d, -f5 | tr '\n' ' ')")
done
if "$py" -c 'import torch' 2>/dev/null; then
  for s in $(seq "$seeds"); do
    "$py" scripts/pytorch_fashion.py "$data" "$epochs" "$s" 2 > "$tmp/pt$s.txt"
    rows+=("PyTorch|$s|$(awk '{print $6}' "$tmp/pt$s.txt" | tr '\n' ' ')")
  done
else
  echo "compare-fashion.sh: PyTorch is not installed for $py (python3-torch): convkit only" >&2
fi

printf '| run | seed |'; for e in $(seq "$epochs"); do printf ' epoch %s |' "$e"; done; echo
printf '|---|---|'; for e in $(seq "$epochs"); do printf -- '---|'; done; echo
for r in "${rows[@]}"; do
  IFS='|' read -r who s accs <<<"$r"
  printf '| %s | %s |' "$who" "$s"
  for a in $accs; do awk -v a="$a" 'BEGIN { printf " %.1f%% |", a * 100 }'; done
  echo
done
for who in convkit PyTorch; do
  line=""
  for e in $(seq "$epochs"); do
    vals=$(for r in "${rows[@]}"; do
             IFS='|' read -r w s accs <<<"$r"
             if [ "$w" = "$who" ]; then echo "$accs" | awk -v e="$e" '{print $e * 100}'; fi
           done | sort -n)
    if [ -z "$vals" ]; then continue; fi
    line="$line $(echo "$vals" | head -n 1 | xargs printf '%.1f')–$(echo "$vals" | tail -n 1 | xargs printf '%.1f') |"
  done
  if [ -n "$line" ]; then echo "| $who range | |$line"; fi
done
