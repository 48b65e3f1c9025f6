#!/usr/bin/env bash
# `cpsim batch` throughput on one core: 200 batches of 131,072 tokens (document_causal, lognormal lengths),
# W = 16 on h100-sxm-ib, median of RUNS runs. Two settings:
#   online   - PyTorch's balancers, every path, no Ulysses, no plan files (target >= 50 batches/s/core)
#   full     - every balancer, every path, Ulysses hybrids, a PLAN.json per batch
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CPSIM:-build/release/cli/cpsim}
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" generate --seq-len 131072 --dist lognormal --mean 4096 --sigma 1.2 --min-len 64 --multiple-of 32 --seed 100 \
  --batches 200 --out "$work/b.jsonl" 2>/dev/null

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {
  local label=$1; shift
  local rates=()
  for i in $(seq "$runs"); do
    rm -rf "$work/out"
    rates+=("$("$bin" batch "$work/b.jsonl" -w 16 --hardware h100-sxm-ib -j 1 -o "$work/out" "$@" | sed -n 's/.*: \([0-9.]*\) lines\/s/\1/p')")
  done
  printf '%-8s median %6.1f batches/s on one core  (runs: %s)\n' "$label" "$(median "${rates[@]}")" "${rates[*]}"
}
echo "cpsim batch throughput, 200 x 131,072 tokens, W = 16, $runs runs, $(date -u +%F)"
measure online --balancers pytorch --no-ulysses --no-plans
measure full
