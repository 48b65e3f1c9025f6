#!/usr/bin/env python3
"""Predicted against measured on this machine: executes plans on the CPU executor, fits the cpu-threads profile
to them with `cpsim calibrate`, then plans held-out workloads with the fitted profile, executes them and prints
per-rank compute predicted vs measured, before (shipped cpu-threads) and after (fitted).

    python3 bench/cpu_calibration.py build/release/cli/cpsim

Training: 3 document mixes x 4 balancers x 2 rotate methods; held out: 2 other mixes (and one causal) x 4
balancers. 4,096 tokens, W = 2 (one thread per core on a 2-core machine), 4/2 heads, head dim 32.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

SHAPE = ["--q-heads", "4", "--kv-heads", "2", "--head-dim", "32"]
WORLD = "2"


def run(*args):
    return subprocess.run(list(args), check=True, capture_output=True, text=True).stdout


def generate(cpsim, out, seed, mean, mask="document_causal"):
    args = [cpsim, "generate", "--seq-len", "4096", "--mask", mask, "--out", out, *SHAPE]
    if mask == "causal":
        args += ["--dist", "fixed", "--length", "4096"]
    else:
        args += ["--dist", "lognormal", "--mean", str(mean), "--sigma", "1.1", "--min-len", "16", "--multiple-of", "16",
                 "--seed", str(seed)]
    run(*args)


def execute(cpsim, workload, balancer, rotate, hardware, out):
    plan = out.replace(".json", "-plan.json")
    run(cpsim, "plan", workload, "-w", WORLD, "-b", balancer, "-r", rotate, "--hardware", hardware, "-o", plan)
    run(cpsim, "execute", plan, "-o", out)
    with open(out) as f:
        return json.load(f)


def rank_errors(m):
    """Per rank: (measured compute us, predicted compute us) summed over steps."""
    out = []
    for r in range(m["world_size"]):
        measured = sum(s["compute_us"] for s in m["steps"] if s["rank"] == r)
        predicted = sum(m["predicted"]["forward_compute_us"][r])
        out.append((measured, predicted))
    return out


def summary(pairs):
    errors = [100.0 * (p - m) / m for m, p in pairs]
    rms = (sum(e * e for e in errors) / len(errors)) ** 0.5
    return f"median |error| {statistics.median(abs(e) for e in errors):.1f}%, RMS {rms:.1f}%, worst {max(errors, key=abs):+.1f}% " \
           f"over {len(errors)} ranks"


def main():
    cpsim = sys.argv[1] if len(sys.argv) > 1 else "build/release/cli/cpsim"
    work = tempfile.mkdtemp(prefix="cpsim-cpu-calibration-")
    train, held_out = [], []
    for seed, mean in ((11, 512), (12, 256), (13, 1024)):
        path = os.path.join(work, f"train-{seed}.json")
        generate(cpsim, path, seed, mean)
        for balancer in ("contiguous", "head_tail", "ptrr", "cost_aware"):
            for rotate in ("alltoall", "allgather"):
                out = os.path.join(work, f"m-{seed}-{balancer}-{rotate}.json")
                execute(cpsim, path, balancer, rotate, "cpu-threads", out)
                train.append(out)
    fitted = os.path.join(work, "cpu-fitted.json")
    print(run(cpsim, "calibrate", *train, "--hardware", "cpu-threads", "--name", "cpu-threads-fitted", "-o", fitted))
    tests = [(21, 384, "document_causal"), (22, 768, "document_causal"), (0, 0, "causal")]
    before, after, table = [], [], []
    for seed, mean, mask in tests:
        path = os.path.join(work, f"test-{mask}-{seed}.json")
        generate(cpsim, path, seed, mean, mask)
        for balancer in ("contiguous", "ptrr", "striped_block", "document_hybrid"):
            for hardware, into in (("cpu-threads", before), (fitted, after)):
                tag = "before" if into is before else "after"
                m = execute(cpsim, path, balancer, "alltoall", hardware, os.path.join(work, f"t-{mask}-{seed}-{balancer}-{tag}.json"))
                pairs = rank_errors(m)
                into.extend(pairs)
                if into is after:
                    for r, (measured, predicted) in enumerate(pairs):
                        table.append(f"| {mask} {seed or ''} | {balancer} | {r} | {measured / 1000:.1f} | {predicted / 1000:.1f} | "
                                     f"{100.0 * (predicted - measured) / measured:+.1f}% |")
    print("held-out plans, per-rank forward compute predicted vs measured:")
    print(f"  shipped cpu-threads: {summary(before)}")
    print(f"  fitted:              {summary(after)}\n")
    print("| workload | balancer | rank | measured ms | predicted ms | error |\n|---|---|---|---|---|---|")
    print("\n".join(table))


if __name__ == "__main__":
    main()
