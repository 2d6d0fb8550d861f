#!/usr/bin/env bash
# plot-train.sh LOG.csv [OUT.png] - loss and accuracy curves of a `convkit train --log`
# CSV (epoch,step,loss,accuracy,test_accuracy,images_per_s,seconds) as one PNG with
# two panels: training loss per epoch, and training/test accuracy per epoch. Needs
# gnuplot (scripts/setup.sh installs gnuplot-nox). Default OUT: LOG with .png.
set -euo pipefail
log=${1:?usage: scripts/plot-train.sh LOG.csv [OUT.png]}
out=${2:-${log%.csv}.png}
[ -s "$log" ] || { echo "plot-train: $log: missing or empty" >&2; exit 1; }
head -n 1 "$log" | grep -q '^epoch,step,loss,accuracy,test_accuracy' ||
  { echo "plot-train: $log: not a convkit train log (bad header)" >&2; exit 1; }
[ "$(wc -l < "$log")" -ge 2 ] || { echo "plot-train: $log: no epochs logged yet" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot-train: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
tmp="$out.tmp.$$.png"
trap 'rm -f "$tmp"' EXIT
gnuplot <<GP
set terminal pngcairo size 1100,420 font ",10" noenhanced
set output "$tmp"
set datafile separator ","
set key autotitle columnhead
set multiplot layout 1,2 title "convkit train: $(basename "$log")"
set xlabel "epoch"
set grid
set ylabel "cross-entropy loss"
plot "$log" using 1:3 with linespoints lw 2 pt 7 title "training loss"
set ylabel "accuracy"
set key bottom right
plot "$log" using 1:4 with linespoints lw 2 pt 7 title "training accuracy", \
     "$log" using 1:5 with linespoints lw 2 pt 5 title "test accuracy"
unset multiplot
GP
mv "$tmp" "$out"
trap - EXIT
echo "$out"
