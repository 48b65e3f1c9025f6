#!/usr/bin/env bash
# `cpsim sweep` over 5 world sizes at 1,048,576 tokens on one core (taskset), median of RUNS runs: the figure issue 16
# asks for (target <= 3 s). Prints each run's wall time and the median.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CPSIM:-build/release/cli/cpsim}
runs=${RUNS:-5}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
times=()
for i in $(seq "$runs"); do
  start=$EPOCHREALTIME
  taskset -c 0 "$bin" sweep data/workloads/doc-lognormal-1m.json --world-sizes 4,8,16,32,64 --hardware h100-sxm-8x > /dev/null
  end=$EPOCHREALTIME
  times+=("$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')")
done
echo "cpsim sweep, doc-lognormal-1m.json (1,048,576 tokens), W = 4,8,16,32,64, one core, $runs runs, $(date -u +%F)"
printf 'median %.2f s (runs: %s)\n' "$(median "${times[@]}")" "${times[*]}"
