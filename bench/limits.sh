#!/usr/bin/env bash
# Time and peak memory of the largest inputs cpsim accepts (docs/reliability.md, "Limits"): a workload of
# 2^24 tokens compared, planned and loaded at W = 64 and at the widest W = 1024 (a 128-node profile), and
# the CPU executor at its 256 thread ranks. Prints one line per command: seconds and peak resident MiB.
# Usage: bench/limits.sh [build/release/cli/cpsim]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release/cli/cpsim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure() {  # label command...
  /usr/bin/time -o "$work/time" -f "%e %M" "$@" > /dev/null 2> "$work/err" || { echo "$1: failed: $(tail -1 "$work/err")"; return; }
  read -r s kb < "$work/time"
  printf '%-58s %8.2f s %8.0f MiB\n' "$label" "$s" "$((kb / 1024))"
}
python3 - "$work" <<'PY'
import json, sys
p = json.load(open("data/hardware/h100-sxm-ib.json"))
p["name"] = "h100-1024"
p["node"]["nodes"]["value"] = 128
json.dump(p, open(sys.argv[1] + "/h100-1024.json", "w"))
PY
"$bin" generate --seq-len 16777216 --dist lognormal --mean 4096 --sigma 1.2 --min-len 128 --multiple-of 128 --seed 3 \
  --out "$work/w16m.json" 2> /dev/null
label="compare, 2^24 tokens, W = 64 (h100-sxm-ib)"; measure "$bin" compare "$work/w16m.json" -w 64 --hardware h100-sxm-ib --top 1
label="compare, 2^24 tokens, W = 1024 (128 nodes)"; measure "$bin" compare "$work/w16m.json" -w 1024 --hardware "$work/h100-1024.json" --top 1
label="plan -b ptrr -o, 2^24 tokens, W = 64"; measure "$bin" plan "$work/w16m.json" -w 64 -b ptrr --hardware h100-sxm-ib -o "$work/p.json"
echo "  (its PLAN.json: $(( $(stat -c %s "$work/p.json") / 1048576 )) MiB)"
label="plan -b striped, 2^24 tokens, W = 1024"; measure "$bin" plan "$work/w16m.json" -w 1024 -b striped
label="execute: read and check that PLAN.json (refused at --device cuda)"; measure sh -c "'$bin' execute '$work/p.json' --device cuda --q-heads 1 --kv-heads 1 --head-dim 16 || true"
"$bin" generate --seq-len 16384 --dist fixed --length 16384 --mask causal --q-heads 1 --kv-heads 1 --head-dim 8 --out "$work/w16k.json" 2> /dev/null
"$bin" plan "$work/w16k.json" -w 256 -b contiguous -r alltoall --hardware "$work/h100-1024.json" -o "$work/p256.json" > /dev/null
label="execute on 256 CPU thread ranks (16,384 tokens, 1 head)"; measure "$bin" execute "$work/p256.json"
