#!/usr/bin/env python3
"""Prints docs/beyond-pytorch.md's tables: on every shipped workload at W = 8, 32 and 64 (profile
h100-sxm-ib: one 8-GPU node at W = 8, InfiniBand between nodes above), each balancer's best predicted step
time and compute imbalance, and PyTorch's best plan against the new balancers and CP families.

    python3 bench/beyond_pytorch.py build/release/cli/cpsim > docs/beyond-pytorch-tables.md
"""
import glob
import json
import os
import subprocess
import sys

NEW = ("striped", "striped_block", "cost_aware", "document_hybrid")
WORLDS = (8, 32, 64)


def compare(cpsim, workload, world):
    out = subprocess.run([cpsim, "compare", workload, "-w", str(world), "--hardware", "h100-sxm-ib", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def strategy(c):
    """The row's path part ("ulysses4 x sparse_gather/allgather (2 stages)"): its strategy text after the balancer."""
    return c["strategy"].split(" + ", 1)[-1]


def label(c):
    """The row's whole strategy, as `cpsim plan --strategy` reads it."""
    return c["strategy"]


def ms(us):
    return f"{us / 1000:.3f}"


def main():
    cpsim = sys.argv[1] if len(sys.argv) > 1 else "build/release/cli/cpsim"
    root = os.path.join(os.path.dirname(__file__), "..", "data", "workloads")
    workloads = sorted(glob.glob(os.path.join(root, "*.json")))
    balancers = subprocess.run([cpsim, "balancers"], check=True, capture_output=True, text=True).stdout.split("\n")
    balancers = [line.split()[0] for line in balancers if line.strip()]
    summary, per_balancer = [], []
    for path in workloads:
        name = os.path.basename(path)[:-5]
        for world in WORLDS:
            c = compare(cpsim, path, world)
            ranked = c["ranked"]
            pytorch = [x for x in ranked if x["pytorch"]]
            new = [x for x in ranked if x["balancer"] in NEW and x["ulysses"] == 1]
            anything = ranked[0] if ranked else None
            if not pytorch:
                summary.append(f"| {name} | {world} | - | - | - | - | - | - | - | PyTorch cannot run it |")
                continue
            pt, nb = pytorch[0], new[0]
            # PyTorch's balancers on any path cpsim models (sparse_ring, sparse_gather included): how much of
            # the gain is the path rather than the balancer.
            pt_any = [x for x in ranked if x["balancer"] not in NEW and x["ulysses"] == 1][0]
            gain = pt["step_us"] / nb["step_us"]
            needs = pt["ratio_to_lower_bound"] >= 1.10
            ok = nb["step_us"] <= 0.9 * pt["step_us"] if needs else nb["step_us"] <= 1.01 * pt["step_us"]
            summary.append(
                f'| {name} | {world} | {pt["balancer"]} + {strategy(pt)} | {ms(pt["step_us"])} | {pt["ratio_to_lower_bound"]:.2f} | '
                f'{nb["balancer"]} + {strategy(nb)} | {ms(nb["step_us"])} | {gain:.2f}x | '
                f'{pt_any["balancer"]} + {strategy(pt_any)} {ms(pt_any["step_us"])} | '
                f'{"beats by >= 10%" if needs and ok else "within 1%" if ok else "NOT MET"}; best of all: {label(anything)} {ms(anything["step_us"])} ms |')
            for b in balancers:
                mine = [x for x in ranked if x["balancer"] == b and x["ulysses"] == 1]
                if mine:
                    x = mine[0]
                    per_balancer.append((name, world, b, f'{ms(x["step_us"])} ({strategy(x)}), imbalance {x["compute_imbalance"]:.3f}'))
                else:
                    per_balancer.append((name, world, b, "cannot run"))
    print("| workload | W | PyTorch's best plan | ms | x lower bound | best new balancer (any path, no Ulysses) | ms | speed-up "
          "| PyTorch balancer on any path, ms | requirement; best of all (Ulysses included) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(summary))
    print()
    print("| workload | balancer | W = 8 | W = 32 | W = 64 |")
    print("|---|---|---|---|---|")
    for path in workloads:
        name = os.path.basename(path)[:-5]
        for b in balancers:
            cells = [cell for (n, w, bb, cell) in per_balancer if n == name and bb == b]
            if len(cells) == len(WORLDS):
                print(f"| {name} | {b} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
