#!/usr/bin/env bash
# Whole-process wall time and peak memory of the CLI commands with targets (median of RUNS runs, GNU time):
#   cpsim plan --balancer all, 1,048,576 tokens, W = 64       target <= 1 s, <= 300 MB
#   cpsim compare, 131,072 tokens, W = 8                      target <= 100 ms
#   cpsim compare, 1,048,576 tokens, W = 64 (8 nodes, IB)     target <= 2 s
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CPSIM:-build/release/cli/cpsim}
runs=${RUNS:-9}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() {
  local label=$1; shift
  local times=() rss=()
  for _ in $(seq "$runs"); do
    local out
    out=$( { /usr/bin/time -f "%e %M" "$bin" "$@" >/dev/null; } 2>&1 | tail -n 1)
    times+=("${out% *}") ; rss+=("${out#* }")
  done
  printf '%-44s median %6.2f s  (runs: %s)  peak RSS %d MB\n' "$label" "$(median "${times[@]}")" "${times[*]}" \
    "$(( $(median "${rss[@]}") / 1024 ))"
}

echo "cpsim whole-process timings, $runs runs each, $(nproc) cores, $(date -u +%F)"
measure "plan --balancer all, 1M tokens, W=64" plan data/workloads/doc-lognormal-1m.json --world-size 64 --balancer all
measure "compare, 128k tokens, W=8" compare data/workloads/doc-lognormal-128k.json --world-size 8
measure "compare --backward, 128k tokens, W=8" compare data/workloads/doc-lognormal-128k.json --world-size 8 --backward
measure "compare, 1M tokens, W=64, h100-sxm-ib" compare data/workloads/doc-lognormal-1m.json --world-size 64 --hardware h100-sxm-ib
measure "compare --backward, 1M tokens, W=64, IB" compare data/workloads/doc-lognormal-1m.json --world-size 64 --hardware h100-sxm-ib --backward
