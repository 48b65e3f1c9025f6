#!/usr/bin/env python3
"""Summarises a gpu-check.sh output folder as Markdown: verification and per-rank compute of the three plans
beside their prediction, cpsim's kernel throughput next to flex_attention's (useful TFLOP/s = 4 * D * H *
visible pairs / time; executed counts every non-empty tile in full), and the calibration of the cost model."""
import json
import os
import sys

out = sys.argv[1]


def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None


print("# gpu-check summary\n")
smi = open(os.path.join(out, "nvidia-smi.txt")).read().splitlines() if os.path.exists(os.path.join(out, "nvidia-smi.txt")) else []
print("Device: " + (smi[1] if len(smi) > 1 else "unknown") + "\n")
print("| plan | verified | max abs error | tolerance | slowest rank compute ms | total comm ms |")
print("|---|---|---|---|---|---|")
for name in ("causal-head_tail", "doc-ptrr", "doc-per_document_head_tail"):
    m = load(f"measured-{name}.json")
    if m is None:
        print(f"| {name} | not run | | | | |")
        continue
    per_rank = {}
    comm = 0.0
    for s in m["steps"]:
        per_rank[s["rank"]] = per_rank.get(s["rank"], 0.0) + s["compute_us"]
        comm += s["comm_us"]
    print(f"| {name} | {m['verified']} | {m['max_abs_error']:.2e} | {m['tolerance']:.2e} | {max(per_rank.values()) / 1000:.3f} | {comm / 1000:.3f} |")

flex = {(r["kind"], r["seq_len"]): r for r in (load("flex.json") or [])}
print("\n| mask | tokens | cpsim useful TFLOP/s | cpsim executed TFLOP/s | flex_attention useful TFLOP/s | ratio |")
print("|---|---|---|---|---|---|")
for kind in ("causal", "doc"):
    for s in (32768, 131072):
        m = load(f"throughput-{kind}-{s}.json")
        if m is None:
            print(f"| {kind} | {s} | not run | | | |")
            continue
        wl = json.load(open(os.path.join(out, "work", f"tp-{kind}-{s}.json")))
        pairs = sum(n * (n + 1) // 2 for n in wl["documents"][0])
        d, h = m["shape"]["head_dim"], m["shape"]["q_heads"]
        us = sum(st["compute_us"] for st in m["steps"])
        tiles = sum(st["full_tiles"] + st["partial_tiles"] for st in m["steps"])
        useful = 4.0 * d * h * pairs / (us * 1e-6) / 1e12
        executed = 4.0 * d * h * tiles * m["tile_size"] ** 2 / (us * 1e-6) / 1e12
        f = flex.get((kind, s))
        ft = f"{f['useful_tflops']:.1f}" if f else "not run"
        ratio = f"{useful / f['useful_tflops']:.2f}x" if f else ""
        print(f"| {kind} | {s} | {useful:.1f} | {executed:.1f} | {ft} | {ratio} |")

print("\nPer-rank forward compute, measured against the plan's prediction (h100-sxm-8x constants, before calibration):\n")
print("| plan | rank | measured ms | predicted ms | error |")
print("|---|---|---|---|---|")
for name in ("causal-head_tail", "doc-ptrr", "doc-per_document_head_tail"):
    m = load(f"measured-{name}.json")
    if m is None or "forward_compute_us" not in m.get("predicted", {}):
        continue
    for r in range(m["world_size"]):
        measured = sum(s["compute_us"] for s in m["steps"] if s["rank"] == r)
        predicted = sum(m["predicted"]["forward_compute_us"][r])
        error = f"{100.0 * (measured - predicted) / predicted:+.1f}%" if predicted > 0 else "-"
        print(f"| {name} | {r} | {measured / 1000:.3f} | {predicted / 1000:.3f} | {error} |")

calibration = os.path.join(out, "calibrate.txt")
if os.path.exists(calibration):
    print("\n`cpsim calibrate` (cpsim's kernel) on the three plans' measurements:\n\n```\n" + open(calibration).read().strip() + "\n```")


def split_lines(path):
    """validate's statistics table: the lines from "split" to the first blank one."""
    if not os.path.exists(path):
        return "not run"
    lines, on = [], False
    for line in open(path).read().splitlines():
        on = on or line.startswith("split ")
        if on and not line.strip():
            break
        if on:
            lines.append(line)
    return "\n".join(lines) or open(path).read().strip()[-2000:]


torch_fit = os.path.join(out, "calibrate-torch.txt")
if os.path.exists(torch_fit):
    print("\nPyTorch's kernels on plan shards (bench/torch_kernels.py), every kernel refitted by `cpsim calibrate`:\n\n```\n" +
          open(torch_fit).read().strip() + "\n```")
    print("\n`cpsim validate` against the published record, shipped profile:\n\n```\n" + split_lines(os.path.join(out, "validate-before.txt")) + "\n```")
    print("\n... and with the refit from this GPU:\n\n```\n" + split_lines(os.path.join(out, "validate-after.txt")) + "\n```")
