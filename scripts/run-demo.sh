#!/usr/bin/env bash
# Set-up command 1: installs what is needed, builds cpsim, and plans the shipped default workload
# (131,072 tokens of packed documents, document-causal mask) on 8 ranks: every balancer compared, then
# the best one's per-rank work and its PLAN.json in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
scripts/build.sh
cpsim=build/release/cli/cpsim
workload=data/workloads/doc-lognormal-128k.json
mkdir -p out
echo
"$cpsim" plan "$workload" --world-size 8 --balancer all
echo
"$cpsim" plan "$workload" --world-size 8 --balancer ptrr --out out/plan-ptrr-w8.json
