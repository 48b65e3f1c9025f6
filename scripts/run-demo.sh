#!/usr/bin/env bash
# Set-up command 1: installs what is needed, builds cpsim, and plans the shipped default workload
# (131,072 tokens of packed documents, document-causal mask) on 8 H100s: every balancer, attention path and
# rotate method ranked by predicted step time, the winner's PLAN.json and the best plan PyTorch can run in out/; and a
# check, on the smaller shipped 4 x 32,768-token batch, that a plan computes the right attention (CPU
# executor, reduced model shape).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
scripts/build.sh
cpsim=build/release/cli/cpsim
workload=data/workloads/doc-lognormal-128k.json
mkdir -p out
echo
"$cpsim" compare "$workload" --world-size 8 --csv out/compare-w8.csv --export out/plans-w8
echo
# The best plan PyTorch CP can run today, for cpsim.torch.load_balancer.
"$cpsim" compare "$workload" --world-size 8 --runtime pytorch --top 3 --export out/pytorch-plans-w8
echo
"$cpsim" plan data/workloads/doc-uniform-32k-4rows.json --world-size 4 --balancer per_document_head_tail \
  --rotate alltoall --out out/plan-32k-w4.json > /dev/null
"$cpsim" execute out/plan-32k-w4.json --q-heads 1 --kv-heads 1 --head-dim 16 --out out/measured-32k-w4.json
