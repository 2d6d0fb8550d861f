#!/usr/bin/env bash
# run.sh - the README's main command: install what is missing, build Release, run the
# main job. Today's main job: the seed CNN's layer table, the lecture's hand-made
# filters on a real photograph, and one convolution per backend in all three passes on
# the seed network's second conv layer. Outputs go to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
ck=build/release/bin/convkit
out=out
mkdir -p "$out"

echo
echo "== the lecture's CIFAR-10 network (preset seed-cnn)"
"$ck" summary --model seed-cnn

echo
echo "== hand-made filters on a real photograph (assets/camera.png, CC0)"
for k in edge sobel-x sobel-y blur sharpen; do
  "$ck" filter --kernel "$k" --input assets/camera.png --output "$out/camera-$k.png"
done
"$ck" filter --kernel edge --input assets/chelsea.png --output "$out/chelsea-edge.png"

echo
echo "== one convolution per backend, all three passes (seed conv2, batch 8)"
problem=mb8ic32ih16oc64kh3ph1
for b in $("$ck" conv --list-backends); do
  for pass in forward backward-data backward-weights; do
    "$ck" conv --problem "$problem" --backend "$b" --pass "$pass"
  done
done
echo
echo "outputs are in $out/"
