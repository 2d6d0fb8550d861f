#!/usr/bin/env bash
# readme-figures.sh [OUTDIR] - measure every figure the README quotes, on this machine,
# one run after the other (never two timing runs at once): the FMA peak and GEMM table,
# the conv sweep for im2col/avx2/winograd at 1 and 2 threads, the Winograd variants,
# im2col-blas and oneDNN (libdnnl-dev, AVX2) on the issue target layers, the seed-cnn
# network cases, PyTorch side by side (if python3-torch is installed), synthetic training
# speed and peak RSS, and 1-vs-2 MPI ranks. Writes JSON, logs and reports to OUTDIR
# (default out/readme);
# scripts/run.sh makes the training curve. About 35 minutes on 2 cores; a quiet host
# matters more than anything else (check `uptime` first).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/readme}
mkdir -p "$out"
bash scripts/build.sh release >/dev/null
ck=build/release/bin/convkit
bench() { bash scripts/bench.sh --full "$@"; }
log() { echo "== $*" | tee -a "$out/log.txt"; }
: > "$out/log.txt"
uptime | tee -a "$out/log.txt"

# Repetitions run in random interleaved order (Google Benchmark's own option): a burst of
# load from the hosts' other tenants then hits one repetition of many cases instead of
# every repetition of one case, and the median drops it.
reps=(--benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true)
log "peak and GEMM (3 interleaved repetitions, medians)"
bench --out "$out/gemm.json" --benchmark_filter='^(peak|gemm)/' \
  --benchmark_repetitions=3 "${reps[@]}" >/dev/null

log "conv sweep: im2col, avx2, winograd; 1 and 2 threads; every pass"
bench --out "$out/sweep.json" --threads=1,2 --benchmark_min_time=0.1 \
  --benchmark_filter='^(peak|conv/[a-z_]+/(im2col|avx2|winograd)/)' >/dev/null

targets=(mb64ic32ih16oc64kh3ph1 mb64ic64ih32oc64kh3ph1 mb8ic128ih28oc128kh3ph1
         mb64ic32ih16oc64kh5ph2 mb8ic64ih56oc128kh3sh2ph1 mb64ic3ih32oc32kh3ph1
         mb64ic128ih16oc128kh1)
log "issue target layers: every backend but naive, and oneDNN's AVX2 JIT with and without NCHW conversions (5 interleaved repetitions, medians)"
bench --out "$out/targets.json" --threads=1,2 "${targets[@]/#/--problem=}" \
  --benchmark_filter='^(peak|conv/.*/(im2col|avx2|im2col-blas|winograd-f2|winograd-f4|winograd-f6|auto|onednn|onednn-blocked)/)' \
  --benchmark_repetitions=5 "${reps[@]}" >/dev/null

# 2T/1T of the avx2 backend, 1- and 2-thread calls alternating in one process (pair by
# pair; the separate runs above drift apart with the host by several percent)
log "avx2 2T/1T on the target layers, paired (scripts/ab-conv.sh WORK WORK --threads 1:2, 40 rounds)"
bash scripts/ab-conv.sh WORK WORK --threads 1:2 --pass all "${targets[@]}" 2>/dev/null |
  tee "$out/threads-paired.txt" >/dev/null

log "networks: seed-cnn train/infer step, batch 64"
bench --out "$out/net.json" --threads=1,2 --benchmark_filter='^(peak|net/seed-cnn/[a-z]+/(auto|im2col|avx2|winograd|im2col-blas)/mb64/)' \
  --benchmark_repetitions=3 "${reps[@]}" >/dev/null

log "reports"
bash scripts/bench-report.sh "$out/sweep.json" "$out/sweep-report" >/dev/null
bash scripts/bench-report.sh "$out/targets.json" "$out/targets-report" >/dev/null
bash scripts/bench-report.sh "$out/gemm.json" "$out/gemm-report" >/dev/null
bash scripts/bench-report.sh "$out/net.json" "$out/net-report" >/dev/null

log "PyTorch side by side (target layers, network step)"
bash scripts/compare-pytorch.sh "$out/targets.json" | tee "$out/pytorch-conv.md"
bash scripts/compare-pytorch.sh "$out/net.json" | tee "$out/pytorch-net.md"

# 1 and 2 threads alternate, so a burst of load on the shared host hits both sides of a
# pair; the README quotes medians. Default micro-batch (64: one chunk, the layers' own
# loops take the threads) against two data-parallel chunks of 32.
for mb in 64 32; do
  log "synthetic seed-cnn training, batch 64, micro-batch $mb, 300 steps: images/s and peak RSS (5 pairs)"
  for i in 1 2 3 4 5; do
    for t in 1 2; do
      printf 'threads %s: ' "$t" | tee -a "$out/log.txt"
      /usr/bin/time -f "peak RSS %M KiB" "$ck" train --model seed-cnn --dataset synthetic \
        --epochs 1 --steps 300 --micro-batch "$mb" --threads "$t" 2>&1 | tail -n 2 |
        tr '\n' ' ' | tee -a "$out/log.txt"
      echo | tee -a "$out/log.txt"
    done
  done
done

if command -v mpirun >/dev/null && "$ck" version | grep -q mpi; then
  log "MPI: 2 ranks x 1 thread vs 1 process (synthetic seed-cnn, batch 64, micro-batch 32, 300 steps)"
  root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
  for i in 1 2 3; do
    OMP_NUM_THREADS=1 "$ck" train --model seed-cnn --dataset synthetic --epochs 1 --steps 300 \
      --micro-batch 32 --threads 1 2>&1 | tail -n 1 | tee -a "$out/log.txt"
    mpirun "${root[@]}" --oversubscribe -np 2 -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive \
      "$ck" train --model seed-cnn --dataset synthetic --epochs 1 --steps 300 --micro-batch 32 \
      --threads 1 2>&1 |
      tr '\r' '\n' | sed 's/\x1b\[K//g' | grep -E 'test_acc|exchange' | tail -n 2 |
      tee -a "$out/log.txt"
    "$ck" train --model seed-cnn --dataset synthetic --epochs 1 --steps 300 --micro-batch 32 \
      --threads 2 2>&1 | tail -n 1 | tee -a "$out/log.txt"
  done
fi
uptime | tee -a "$out/log.txt"
echo "readme-figures.sh: everything in $out"
