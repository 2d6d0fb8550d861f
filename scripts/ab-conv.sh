#!/usr/bin/env bash
# ab-conv.sh REV_A REV_B [--pass fwd|bwd_data|bwd_weights|all] [--threads T] [--rounds N]
#            [--backend NAME] DESC...
# Time convolutions in two versions of convkit side by side: builds libconvkit.so (Release)
# at git revisions REV_A and REV_B (WORK = the working tree as it is), then for each
# benchdnn descriptor DESC and pass runs scripts/ab_conv.c, which loads both libraries
# into one process and calls them alternately (default: backend avx2, 1 thread, 40
# rounds, all three passes). Prints each side's median time and the median of the
# per-round ratio B/A with its quartiles: on a shared host this sees 2% differences that
# separate runs cannot. Builds go to build/ab/ (reused per commit; other revisions are
# checked out there as git worktrees: `git worktree prune` after deleting build/). Timing
# only; run the test suite for correctness. Example:
#   scripts/ab-conv.sh HEAD~1 WORK --pass fwd mb64ic32ih16oc64kh3ph1 mb8ic128ih28oc128kh3ph1
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; } && { usage; exit 0; }
[ $# -ge 3 ] || { usage >&2; exit 2; }
rev_a=$1 rev_b=$2
shift 2
passes=(fwd bwd_data bwd_weights) threads=1 rounds=40 backend=avx2 descs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pass|--threads|--rounds|--backend)
      [ $# -ge 2 ] || { echo "ab-conv.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --pass) [ "$2" = all ] || passes=("$2") ;;
        --threads) threads=$2 ;;
        --rounds) rounds=$2 ;;
        --backend) backend=$2 ;;
      esac
      shift ;;
    -*) echo "ab-conv.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) descs+=("$1") ;;
  esac
  shift
done
[ ${#descs[@]} -gt 0 ] || { echo "ab-conv.sh: no problem descriptor given" >&2; exit 2; }

ab=build/ab
mkdir -p "$ab"
jobs=$(nproc 2>/dev/null || echo 2)

# build REV: prints the path of a copy of that version's libconvkit.so
build() {
  local rev=$1 name src
  if [ "$rev" = WORK ]; then
    name=work src=$PWD
  else
    name=$(git rev-parse --short=12 "$rev^{commit}") ||
      { echo "ab-conv.sh: '$rev' is not a commit" >&2; exit 2; }
    src=$ab/src-$name
    [ -d "$src" ] || git worktree add --detach --quiet "$src" "$name" >&2
  fi
  cmake -S "$src" -B "$ab/build-$name" -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_TESTS=OFF \
        -DCONVKIT_BUILD_BENCH=OFF -DCONVKIT_BLAS=OFF -DCONVKIT_MPI=OFF >/dev/null
  cmake --build "$ab/build-$name" -j "$jobs" --target convkit >/dev/null
  cp "$(ls "$ab/build-$name"/libconvkit.so.*.*.* | head -n 1)" "$ab/$name.so"
  echo "$ab/$name.so"
}
lib_a=$(build "$rev_a")
lib_b=$(build "$rev_b")
gcc -std=c11 -O2 -Wall -fopenmp -Iinclude scripts/ab_conv.c -o "$ab/ab_conv" -ldl
echo "A = $rev_a ($lib_a), B = $rev_b ($lib_b); backend $backend, $threads thread(s), $rounds rounds"
for d in "${descs[@]}"; do
  for p in "${passes[@]}"; do
    "$ab/ab_conv" "$PWD/$lib_a" "$PWD/$lib_b" "$d" "$p" "$threads" "$rounds" "$backend"
  done
done
