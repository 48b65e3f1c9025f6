#!/usr/bin/env python3
"""Summarises a gpu-check.sh output folder as Markdown: verification and per-rank compute of the three plans,
and cpsim's kernel throughput next to flex_attention's (useful TFLOP/s = 4 * D * H * visible pairs / time;
executed counts every non-empty 64x64 tile in full)."""
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
