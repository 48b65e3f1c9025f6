#!/usr/bin/env bash
# Refits the shipped H100 profile to the fit split of data/validation (cpsim calibrate --published) and records
# each validated profile's model error (cpsim validate's check split) in it. Run after changing the cost model,
# the validation data or a profile; tests/sim/validation_test.cpp fails when a profile's record is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cpsim=${1:-build/release/cli/cpsim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cpsim" calibrate --published --hardware data/hardware/h100-sxm-8x.json -o "$tmp/h100-sxm-8x.json" > "$tmp/fit.txt"
mv "$tmp/h100-sxm-8x.json" data/hardware/h100-sxm-8x.json
head -1 "$tmp/fit.txt"
# The same NVLink4 and NVSwitch: H200 and the InfiniBand cluster take H100's fitted NVLink curves (their kernels
# come by "kernels_from"); tests/sim/validation_test.cpp checks they agree.
python3 - <<'PY'
import json
h100 = json.load(open("data/hardware/h100-sxm-8x.json"))
for name in ("h200-sxm-8x", "h100-sxm-ib"):
    path = f"data/hardware/{name}.json"
    doc = json.load(open(path))
    for op, curve in h100["links"]["nvlink"].items():
        for key, entry in curve.items():
            doc["links"]["nvlink"][op][key] = {"value": entry["value"], "source": "as h100-sxm-8x, the same NVLink4 and NVSwitch: " + entry["source"],
                                               "estimate": True}
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
PY
# Profiles that take their kernels from h100-sxm-8x and have published points of their own: only their record.
for name in h800-sxm-8x; do
  "$cpsim" validate --hardware "$name" --json > "$tmp/$name.json"
  python3 - "$tmp/$name.json" "data/hardware/$name.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
path = sys.argv[2]
doc = json.load(open(path))
c = v["check"]
doc["model_error"] = {"points": c["points"], "median": c["median"], "p90": c["p90"], "command": "cpsim validate --hardware " + doc["name"]}
with open(path, "w") as f:
    json.dump(doc, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(f"{doc['name']}: {c['points']} check points, median {100 * c['median']:.1f}%, p90 {100 * c['p90']:.1f}%")
PY
done
