#!/usr/bin/env bash
# ab-conv.sh REV_A REV_B [--pass fwd|bwd_data|bwd_weights|all] [--threads T] [--rounds N]
#            [--procs P] [--backend NAME] DESC...
# Time convolutions in two versions of convkit side by side: builds libconvkit.so (Release)
# at git revisions REV_A and REV_B (WORK = the working tree as it is), then for each
# benchdnn descriptor DESC and pass runs scripts/ab_conv.c, which loads both libraries
# into one process and calls them alternately (default: backend avx2, 1 thread, 40
# rounds, all three passes), the rounds split over P processes (default 4). Prints each
# side's median time and the median of the per-round ratio B/A with its quartiles, and the
# median B/A of each process: on a shared host this sees 2% differences that separate
# runs cannot. One process alone can be off by about 2%: two copies of one library read
# B/A 0.987-1.022 in four processes (mb8ic64ih56oc128kh3sh2ph1 backward-data), as where
# each library lands in memory changes per process, and the library loaded second could
# read 1-2% slow throughout (B/A 1.017 one way round and 1.018 the other at 2 threads):
# so every other process loads B first. Builds go to build/ab/ (reused per commit; other
# revisions are checked out there as git worktrees: `git worktree prune` after deleting
# build/). --threads TA:TB gives each side its own thread count: with
# REV_A = REV_B, `--threads 1:2` measures the 2-thread speedup pair by pair (printed as
# A/B), which a host that drifts between separate 1- and 2-thread runs cannot skew.
# Timing only; run the test suite for correctness. Examples:
#   scripts/ab-conv.sh HEAD~1 WORK --pass fwd mb64ic32ih16oc64kh3ph1 mb8ic128ih28oc128kh3ph1
#   scripts/ab-conv.sh HEAD HEAD --threads 1:2 mb8ic64ih56oc128kh3sh2ph1
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; } && { usage; exit 0; }
[ $# -ge 3 ] || { usage >&2; exit 2; }
rev_a=$1 rev_b=$2
shift 2
passes=(fwd bwd_data bwd_weights) threads=1 rounds=40 procs=4 backend=avx2 descs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pass|--threads|--rounds|--procs|--backend)
      [ $# -ge 2 ] || { echo "ab-conv.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --pass) [ "$2" = all ] || passes=("$2") ;;
        --threads) threads=$2 ;;
        --rounds) rounds=$2 ;;
        --procs) procs=$2 ;;
        --backend) backend=$2 ;;
      esac
      shift ;;
    -*) echo "ab-conv.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) descs+=("$1") ;;
  esac
  shift
done
[ ${#descs[@]} -gt 0 ] || { echo "ab-conv.sh: no problem descriptor given" >&2; exit 2; }
case "$threads" in
  [1-9]|[1-9][0-9]|[1-9]:[1-9]|[1-9][0-9]:[1-9]|[1-9]:[1-9][0-9]|[1-9][0-9]:[1-9][0-9]) ;;
  *) echo "ab-conv.sh: --threads wants a count or two, T or TA:TB (1-99)" >&2; exit 2 ;;
esac
for n in "$procs" "$rounds"; do
  case "$n" in
    ''|*[!0-9]*|0) echo "ab-conv.sh: --procs and --rounds want positive counts" >&2; exit 2 ;;
  esac
done

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
per=$(( (rounds + procs - 1) / procs ))
threads_ba=$threads # the thread counts with the sides swapped (TB:TA)
[[ $threads == *:* ]] && threads_ba=${threads#*:}:${threads%%:*}
echo "A = $rev_a ($lib_a), B = $rev_b ($lib_b); backend $backend, $threads thread(s)," \
     "$procs process(es) x $per rounds"
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
for d in "${descs[@]}"; do
  for p in "${passes[@]}"; do
    : > "$raw"
    for ((i = 0; i < procs; i++)); do
      if (( i % 2 == 0 )); then
        AB_CONV_RAW=1 "$ab/ab_conv" "$PWD/$lib_a" "$PWD/$lib_b" "$d" "$p" "$threads" "$per" \
          "$backend" | sed "s/^/$i /" >> "$raw"
      else # B loaded first, its times put back in B's column
        AB_CONV_RAW=1 "$ab/ab_conv" "$PWD/$lib_b" "$PWD/$lib_a" "$d" "$p" "$threads_ba" \
          "$per" "$backend" |
          awk -v i="$i" '$1 == "round" {print i, "round", $3, $2; next} {print i, $0}' >> "$raw"
      fi
    done
    # medians and quartiles over every round of every process (sort -g, then pick)
    q() { sort -g | awk -v f="$1" '{v[NR] = $1} END {print v[int(NR * f) + 1]}'; }
    gflop=$(awk '$2 == "gflop" {print $3; exit}' "$raw")
    a_med=$(awk '$2 == "round" {print $3}' "$raw" | q 0.5)
    b_med=$(awk '$2 == "round" {print $4}' "$raw" | q 0.5)
    a_min=$(awk '$2 == "round" {print $3}' "$raw" | q 0)
    b_min=$(awk '$2 == "round" {print $4}' "$raw" | q 0)
    r_med=$(awk '$2 == "round" {print $4 / $3}' "$raw" | q 0.5)
    r_q1=$(awk '$2 == "round" {print $4 / $3}' "$raw" | q 0.25)
    r_q3=$(awk '$2 == "round" {print $4 / $3}' "$raw" | q 0.75)
    each=""
    for ((i = 0; i < procs; i++)); do
      each+=" $(awk -v i="$i" '$1 == i && $2 == "round" {print $4 / $3}' "$raw" | q 0.5)"
    done
    awk -v d="$d" -v p="$p" -v t="$threads" -v g="$gflop" -v am="$a_med" -v bm="$b_med" \
        -v an="$a_min" -v bn="$b_min" -v r="$r_med" -v r1="$r_q1" -v r3="$r_q3" -v e="$each" \
      'BEGIN {
         n = split(e, x, " "); s = "";
         for (i = 1; i <= n; i++) s = s sprintf(" %.4f", x[i]);
         printf "%s %s %sT: A %.3f ms (%.1f GFLOP/s, min %.3f) | B %.3f ms (%.1f GFLOP/s, " \
                "min %.3f) | B/A %.4f [%.4f, %.4f] | per process%s",
                d, p, t, am * 1e3, g / am, an * 1e3, bm * 1e3, g / bm, bn * 1e3, r, r1, r3, s;
         # two thread counts: the speedup, A/B per round (the median of 1 / (B/A))
         if (t ~ /:/) printf " | A/B %.3f [%.3f, %.3f]", 1 / r, 1 / r3, 1 / r1;
         printf "\n"
       }'
  done
done
