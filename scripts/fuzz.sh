#!/usr/bin/env bash
# fuzz.sh SECONDS - build the libFuzzer targets (clang, ASan + UBSan, library
# instrumented with -fsanitize=fuzzer-no-link, OpenMP off) in build/fuzz and run each
# target for SECONDS (default 30) from a small seed corpus generated here. Exits 1 on
# the first crash, leak or sanitizer report (libFuzzer leaves crash-* files in
# build/fuzz/artifacts). Installs its packages with apt-get when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }

CK_FUZZ_PACKAGES=(clang libclang-rt-14-dev cmake pkg-config libpng-dev zlib1g-dev)
missing=()
for p in "${CK_FUZZ_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

b=build/fuzz
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
cmake -S . -B "$b" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DCONVKIT_FUZZ=ON -DCONVKIT_BUILD_TESTS=OFF -DCONVKIT_OPENMP=OFF \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$b" -j2 --target fuzz_cifar fuzz_idx fuzz_npy fuzz_checkpoint fuzz_model_spec \
  convkit_cli >/dev/null

# ---- seed corpora: one valid input per format (then libFuzzer mutates them) -------------
c="$b/corpus"
rm -rf "$c"
mkdir -p "$c"/{cifar,idx,npy,checkpoint,model_spec} "$b/artifacts"
python3 - "$c" <<'PY'
import struct, sys, zlib
c = sys.argv[1]
rec = bytes([3]) + bytes(i % 256 for i in range(3072))
open(f"{c}/cifar/two", "wb").write(rec + bytes([9]) + rec[1:])
img = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 3, 3) + bytes(range(18))
lab = bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes([1, 7])
open(f"{c}/idx/pair", "wb").write(struct.pack(">H", len(img)) + img + lab)
hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
hdr += b" " * (64 - 10 - len(hdr) - 1) + b"\n"
open(f"{c}/npy/a", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr
                               + struct.pack("<6f", *range(6)))
spec = b"input 8x8x1\nconv2d 4 3x3 padding=same activation=relu\nmaxpool2d 2x2\nflatten\ndense 10\n"
open(f"{c}/model_spec/seed", "wb").write(spec)
open(f"{c}/model_spec/preset", "wb").write(b"seed-cnn")
PY
# a real checkpoint from the CLI of this build (tiny net, 2 steps)
"$b/bin/convkit" train --model "input 8x8x1; conv2d 2 3x3; flatten; dense 10" \
  --dataset synthetic --batch 4 --steps 2 --checkpoint "$c/checkpoint/tiny.ckpt" >/dev/null 2>&1 ||
  echo "fuzz: could not make a seed checkpoint (fuzzing checkpoint from scratch)"

status=0
for t in cifar idx npy checkpoint model_spec; do
  echo "== fuzz_$t for ${secs}s"
  if ! "$b/bin/fuzz_$t" -max_total_time="$secs" -max_len=16384 -rss_limit_mb=1024 \
      -artifact_prefix="$b/artifacts/$t-" -print_final_stats=0 "$c/$t" 2>"$b/fuzz_$t.log"; then
    echo "fuzz_$t FAILED (see $b/fuzz_$t.log and $b/artifacts/)"
    tail -n 30 "$b/fuzz_$t.log"
    status=1
  else
    grep -E '^Done [0-9]+ runs' "$b/fuzz_$t.log" | tail -n 1 || true
  fi
done
exit $status
