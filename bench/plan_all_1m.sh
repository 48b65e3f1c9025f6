#!/usr/bin/env bash
# Whole-process time and peak memory of `cpsim plan --balancer all` on the shipped 1M-token workload
# at W = 64 (targets: <= 1 s, <= 300 MB). Prints each run and the median; needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CPSIM:-build/release/cli/cpsim}
runs=${RUNS:-9}
workload=data/workloads/doc-lognormal-1m.json
times=() ; rss=()
for _ in $(seq "$runs"); do
  out=$( { /usr/bin/time -f "%e %M" "$bin" plan "$workload" --world-size 64 --balancer all >/dev/null; } 2>&1 | tail -n 1)
  times+=("${out% *}") ; rss+=("${out#* }")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "cpsim plan $workload --world-size 64 --balancer all, $runs runs"
echo "wall seconds: ${times[*]}"
echo "peak RSS KB:  ${rss[*]}"
echo "median wall: $(median "${times[@]}") s, median peak RSS: $(( $(median "${rss[@]}") / 1024 )) MB"
