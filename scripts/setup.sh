#!/usr/bin/env bash
# setup.sh - install what convkit needs on a fresh Debian machine (apt-get only).
# Installs only the packages that are missing; safe to run again. Sourced or run.
set -euo pipefail

CK_PACKAGES=(
  gcc g++ make cmake pkg-config    # toolchain (g++ only for the benchmark shim)
  libpng-dev zlib1g-dev            # PNG I/O, CRC-32 and gzip'd IDX files
  libcriterion-dev                 # the test suite
  libbenchmark-dev                 # convkit-bench (Google Benchmark)
  libopenblas-dev libblis-dev      # GEMM reference points in convkit-bench (dlopen'ed)
  libdnnl-dev                      # oneDNN: a reference point in convkit-bench
  gnuplot-nox                      # plots from benchmark JSON and training logs
  dataset-fashion-mnist            # the real dataset the main job trains on
  libopenmpi-dev openmpi-bin       # optional: data-parallel training across processes (docs/mpi.md)
)

missing=()
for p in "${CK_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
