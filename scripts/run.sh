#!/usr/bin/env bash
# run.sh - the README's main command: install what is missing, build Release, run the
# main job: train the lecture's CIFAR-10 network (seed-cnn, input adapted to 28x28x1) on
# Fashion-MNIST (Debian's dataset-fashion-mnist) with the default recipe, evaluate it,
# plot the curves and draw its filters and feature maps; also the seed CNN's layer
# table, the lecture's hand-made filters on a real photograph, and one convolution per
# backend. Everything goes to out/ (override with OUT=DIR; EPOCHS=N for a shorter run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
ck=build/release/bin/convkit
out=${OUT:-out}
epochs=${EPOCHS:-10}
mkdir -p "$out"

echo
echo "== the lecture's CIFAR-10 network (preset seed-cnn)"
"$ck" summary --model seed-cnn --batch 64

echo
echo "== hand-made filters on real photographs (assets/, CC0)"
for k in edge sobel-x sobel-y blur sharpen; do
  "$ck" filter --kernel "$k" --input assets/camera.png --output "$out/camera-$k.png"
done
"$ck" filter --kernel edge --input assets/chelsea.png --output "$out/chelsea-edge.png"

echo
echo "== one convolution per backend, all three passes (seed conv2, batch 8)"
for b in $("$ck" conv --list-backends); do
  for pass in forward backward-data backward-weights; do
    "$ck" conv --problem mb8ic32ih16oc64kh3ph1 --backend "$b" --pass "$pass" ||
      true # a backend that refuses the problem says why; that is not a failure
  done
done

echo
echo "== training seed-cnn on Fashion-MNIST ($epochs epochs, default recipe: Adam 1e-3, cosine, batch 64)"
ckpt="$out/seed-cnn-fashion-mnist.ckpt"
rm -f "$ckpt" # a fresh run, not a resume
"$ck" train --model seed-cnn --dataset fashion-mnist --epochs "$epochs" \
  --log "$out/train-fashion-mnist.csv" --checkpoint "$ckpt"

echo
echo "== evaluation on the 10,000 test images"
"$ck" eval --checkpoint "$ckpt"

bash scripts/plot-train.sh "$out/train-fashion-mnist.csv" "$out/train-fashion-mnist.png"
"$ck" visualize --checkpoint "$ckpt" --index 0 --out "$out/feature-maps"

echo
echo "outputs:"
echo "  $out/train-fashion-mnist.csv, $out/train-fashion-mnist.png   training log and curves"
echo "  $ckpt                               checkpoint (convkit export --checkpoint ... --npy-dir D)"
echo "  $out/feature-maps/                                          first-layer filters, feature maps"
echo "  $out/camera-*.png, $out/chelsea-edge.png                     hand-made filters"
