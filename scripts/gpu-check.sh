#!/usr/bin/env bash
# The one prepared check for a lent GPU machine (H100/H200), within 8 minutes:
#   1. the GPU tests (CUDA executor against the fp64 CPU reference, every balancer and rotate method, and an
#      injected wrong output failing that check);
#   2. three shipped-style plans at 131,072 tokens, W = 8 emulated on one GPU: causal head_tail,
#      document_causal ptrr, document_causal per_document_head_tail -> MEASURED.json each, printed beside
#      their prediction;
#   3. kernel throughput (useful and executed TFLOP/s) for causal and document_causal at 32k and 128k
#      tokens, head dim 128, and PyTorch flex_attention on the same shapes (bench/flex_attention_bench.py);
#   4. python/cpsim_torch.py: plans of PyTorch's balancers give the indices PyTorch itself generates;
#   5. `cpsim calibrate` on the document plans' measurements: cpsim's own kernel fitted, error before and after;
#   6. PyTorch's kernels (SDPA flash and cuDNN, FA3 if importable, FlexAttention) on the per-rank shards of four
#      plans (bench/torch_kernels.py -> MEASURED.json each), every kernel refitted with `cpsim calibrate`, and
#      `cpsim validate` against the published record before and after the refit.
# Everything is written under $WORK (default /tmp/cpsim-gpu-check); $OUT (default out/gpu-check) receives
# three files only, as the device tool brings back at most eight: summary.md, log.txt and results.tar.gz
# (every measurement and output, without the plan files). The GPU machine has no Boost/Eigen/Qt: carry a
# build made here with `cmake --preset gpu && cmake --build --preset gpu` (build/gpu).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu-check}
WORK=${WORK:-/tmp/cpsim-gpu-check}
mkdir -p "$OUT" "$WORK"
bin=build/gpu/cli/cpsim
tests=build/gpu/tests/cpsim_gpu_tests
say() { echo "[$(date -u +%T)] $*" | tee -a "$WORK/log.txt"; }
finish() {  # whatever happened, bring back the summary, the log and everything else in one archive
  python3 bench/gpu_summary.py "$WORK" > "$WORK/summary.md" 2>> "$WORK/log.txt"
  cp "$WORK/summary.md" "$WORK/log.txt" "$OUT/" 2>/dev/null
  cat "$WORK/summary.md"
  tar -czf "$OUT/results.tar.gz" -C "$WORK" --exclude='work/*plan*.json' --exclude='work/*.json' . 2>/dev/null
}
trap finish EXIT

say "device"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; nvidia-smi; } > "$WORK/nvidia-smi.txt" 2>&1
if [ ! -x "$bin" ]; then
  say "no carried build: trying to build the gpu preset here"
  { cmake --preset gpu && cmake --build --preset gpu -j "$(nproc)"; } > "$WORK/build.txt" 2>&1 || say "build failed (see build.txt)"
fi
[ -x "$bin" ] || { say "no cpsim binary; stopping"; exit 1; }

say "1. GPU tests"
timeout 150 "$tests" > "$WORK/gpu-tests.txt" 2>&1; say "gpu tests exit $?"

say "2. plans at 131,072 tokens, W = 8"
work="$WORK/work"; mkdir -p "$work"
"$bin" generate --seq-len 131072 --dist fixed --length 131072 --mask causal --out "$work/causal-128k.json" 2>/dev/null
"$bin" generate --seq-len 131072 --dist lognormal --mean 4096 --sigma 1.2 --min-len 64 --multiple-of 16 --seed 7 \
  --mask document_causal --out "$work/doc-128k.json" 2>/dev/null
run_plan() {  # name workload balancer: predicted on cpsim's kernel (the one the CUDA executor runs), so comparable
  "$bin" plan "$2" -w 8 -b "$3" -r alltoall -p sparse_ring --kernel cpsim -o "$work/plan-$1.json" > /dev/null 2>> "$WORK/log.txt"
  timeout 120 "$bin" execute "$work/plan-$1.json" --device cuda -o "$WORK/measured-$1.json" > "$WORK/execute-$1.txt" 2>&1
  say "execute $1: exit $? ($(grep -o 'max abs error [^ ]*' "$WORK/execute-$1.txt"))"
}
run_plan causal-head_tail "$work/causal-128k.json" head_tail
run_plan doc-ptrr "$work/doc-128k.json" ptrr
run_plan doc-per_document_head_tail "$work/doc-128k.json" per_document_head_tail

say "3. kernel throughput: cpsim (W = 1, one kernel call) and flex_attention"
for s in 32768 131072; do
  "$bin" generate --seq-len $s --dist fixed --length $s --mask causal --out "$work/tp-causal-$s.json" 2>/dev/null
  "$bin" generate --seq-len $s --dist lognormal --mean 4096 --sigma 1.2 --min-len 64 --multiple-of 64 --seed 7 \
    --mask document_causal --out "$work/tp-doc-$s.json" 2>/dev/null
  for kind in causal doc; do
    "$bin" plan "$work/tp-$kind-$s.json" -w 1 -b contiguous --block-size 64 -r alltoall -o "$work/tp-plan-$kind-$s.json" > /dev/null 2>&1
    timeout 90 "$bin" execute "$work/tp-plan-$kind-$s.json" --device cuda -o "$WORK/throughput-$kind-$s.json" > "$WORK/throughput-$kind-$s.txt" 2>&1
    say "throughput $kind $s: exit $?"
  done
done
timeout 150 python3 bench/flex_attention_bench.py --workdir "$work" --out "$WORK/flex.json" > "$WORK/flex.txt" 2>&1
say "flex_attention bench exit $?"
say "4. python/cpsim_torch.py against PyTorch's own balancers (same indices?)"
for b in head_tail per_document_head_tail ptrr; do
  "$bin" plan data/workloads/doc-uniform-32k-4rows.json -w 4 -b $b -r allgather -o "$work/torch-$b.json" > /dev/null 2>> "$WORK/log.txt"
done
"$bin" plan data/workloads/doc-uniform-32k-4rows.json -w 4 -b document_hybrid -r allgather -o "$work/torch-document_hybrid.json" > /dev/null 2>> "$WORK/log.txt"
timeout 120 python3 python/cpsim_torch.py --check-builtin "$work"/torch-*.json > "$WORK/cpsim-torch.txt" 2>&1
say "cpsim_torch check exit $?"
say "5. calibrate cpsim's kernel on the three plans' measurements"
profile=h100-sxm-8x
grep -q "H200" "$WORK/nvidia-smi.txt" && profile=h200-sxm-8x
"$bin" calibrate "$WORK"/measured-*-*.json --hardware $profile --name "$profile-measured" \
  -o "$WORK/profile-fitted.json" > "$WORK/calibrate.txt" 2>&1
say "calibrate exit $? (from $profile)"

# The published record is tagged h100-sxm-8x (an H200 runs the same die's kernels): the refit keeps that name so that
# validate sets it against the same points as the shipped profile.
say "6. PyTorch's kernels on plan shards, refit, validate before and after"
for spec in "causal-32k causal 32768 128 head_tail" "causal-32k-ring causal 32768 128 contiguous" "doc-32k document_causal 32768 128 ptrr" \
            "causal-16k-d64 causal 16384 64 head_tail"; do
  set -- $spec
  docs="--dist lognormal --mean 4096 --sigma 1.2 --min-len 128 --multiple-of 128 --seed 7"
  [ "$2" = causal ] && docs="--dist fixed --length $3"
  "$bin" generate --seq-len "$3" $docs --mask "$2" --head-dim "$4" --q-heads $((4096 / $4)) --kv-heads 8 \
    --out "$work/torch-$1.json" 2>> "$WORK/log.txt"
  "$bin" plan "$work/torch-$1.json" -w 8 -b "$5" -r alltoall -o "$work/torch-plan-$1.json" > /dev/null 2>> "$WORK/log.txt"
done
mkdir -p "$WORK/torch"
timeout 200 python3 bench/torch_kernels.py "$work"/torch-plan-*.json --out-dir "$WORK/torch" --backward > "$WORK/torch-kernels.txt" 2>&1
say "torch kernels exit $? ($(ls "$WORK"/torch/measured-*.json 2>/dev/null | wc -l) files)"
"$bin" calibrate "$WORK"/torch/measured-*.json --hardware h100-sxm-8x --name h100-sxm-8x -o "$WORK/profile-torch-fitted.json" \
  > "$WORK/calibrate-torch.txt" 2>&1
say "calibrate (PyTorch's kernels) exit $?"
"$bin" validate --hardware h100-sxm-8x > "$WORK/validate-before.txt" 2>&1
"$bin" validate --hardware "$WORK/profile-torch-fitted.json" > "$WORK/validate-after.txt" 2>&1
say "validate before/after exit $?"
