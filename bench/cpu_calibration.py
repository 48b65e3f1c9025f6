#!/usr/bin/env python3
"""Predicted against measured on this machine: executes plans on the CPU executor, fits the cpu-threads profile
to them with `cpsim calibrate`, then plans held-out workloads with the fitted profile, executes them and prints
per-rank compute predicted vs measured, before (shipped cpu-threads) and after (fitted).

    python3 bench/cpu_calibration.py build/release/cli/cpsim

Training: 3 document mixes x 4 balancers x 2 rotate methods; held out: 2 other mixes (and one causal) x 4
balancers. Every plan is executed 5 times, round-robin over the plans, and its fastest run kept (the machine
is shared; interference only adds time). 4,096 tokens, W = 2 (one thread per core on a 2-core machine), 4/2
heads, head dim 32. With --backward every plan is predicted and executed forward and backward, the fit
covers the backward rate too, and the held-out comparison is printed for both passes (about 6 minutes).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

SHAPE = ["--q-heads", "4", "--kv-heads", "2", "--head-dim", "32"]
WORLD = "2"
RUNS = 5  # executions of every plan; the fastest counts
BACKWARD = "--backward" in sys.argv


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


def plan(cpsim, workload, balancer, rotate, hardware, out):
    run(cpsim, "plan", workload, "-w", WORLD, "-b", balancer, "-r", rotate, "--hardware", hardware, "-o", out,
        *(["--backward"] if BACKWARD else []))
    return out


def execute(cpsim, plan_path, out):
    run(cpsim, "execute", plan_path, "-o", out, *(["--backward"] if BACKWARD else []))
    with open(out) as f:
        return json.load(f)


def steps(m, backward):
    return m["backward"]["steps"] if backward else m["steps"]


def rank_errors(runs, backward=False):
    """Per rank: (the fastest run's measured compute us, predicted compute us) of one pass, summed over steps."""
    key = "backward_compute_us" if backward else "forward_compute_us"
    out = []
    for r in range(runs[0]["world_size"]):
        measured = min(sum(s["compute_us"] for s in steps(m, backward) if s["rank"] == r) for m in runs)
        predicted = sum(runs[0]["predicted"][key][r])
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
    train = []
    # Every plan runs RUNS times, round-robin over the plans so that a busy spell of the shared machine does not
    # fall on one plan's runs; interference only adds time, so the fastest run of each plan is kept.
    plans = []
    for seed, mean in ((11, 512), (12, 256), (13, 1024)):
        path = os.path.join(work, f"train-{seed}.json")
        generate(cpsim, path, seed, mean)
        for balancer in ("contiguous", "head_tail", "ptrr", "cost_aware"):
            for rotate in ("alltoall", "allgather"):
                plans.append(plan(cpsim, path, balancer, rotate, "cpu-threads", os.path.join(work, f"{seed}-{balancer}-{rotate}-plan.json")))
    runs = {p: [] for p in plans}
    for i in range(RUNS):
        for p in plans:
            out = p.replace("-plan.json", f"-measured-{i}.json")
            m = execute(cpsim, p, out)
            runs[p].append((sum(s["compute_us"] for s in m["steps"] + (m["backward"]["steps"] if BACKWARD else [])), out))
    train = [min(runs[p])[1] for p in plans]
    fitted = os.path.join(work, "cpu-fitted.json")
    print(run(cpsim, "calibrate", *train, "--hardware", "cpu-threads", "--name", "cpu-threads-fitted", "-o", fitted))
    # Held out: every plan planned with both profiles (same layout, two predictions), then executed RUNS times,
    # round-robin, the fastest run per rank kept.
    cases = []
    for seed, mean, mask in ((21, 384, "document_causal"), (22, 768, "document_causal"), (0, 0, "causal")):
        path = os.path.join(work, f"test-{mask}-{seed}.json")
        generate(cpsim, path, seed, mean, mask)
        for balancer in ("contiguous", "ptrr", "striped_block", "document_hybrid"):
            name = os.path.join(work, f"t-{mask}-{seed}-{balancer}")
            cases.append((f"{mask} {seed or ''}".strip(), balancer, plan(cpsim, path, balancer, "alltoall", "cpu-threads", name + "-before.json"),
                          plan(cpsim, path, balancer, "alltoall", fitted, name + "-after.json"), []))
    for i in range(RUNS):
        for case in cases:
            case[4].append(execute(cpsim, case[3], case[3].replace(".json", f"-measured-{i}.json")))
    for backward in ((False, True) if BACKWARD else (False,)):
        before, after, table = [], [], []
        key = "backward_compute_us" if backward else "forward_compute_us"
        for label, balancer, before_plan, _, runs in cases:
            with open(before_plan) as f:
                shipped = json.load(f)["predicted"][key]
            pairs = rank_errors(runs, backward)
            before.extend((measured, sum(shipped[r])) for r, (measured, _) in enumerate(pairs))
            after.extend(pairs)
            for r, (measured, predicted) in enumerate(pairs):
                table.append(f"| {label} | {balancer} | {r} | {measured / 1000:.1f} | {predicted / 1000:.1f} | "
                             f"{100.0 * (predicted - measured) / measured:+.1f}% |")
        print(f"held-out plans, per-rank {'backward' if backward else 'forward'} compute predicted vs measured:")
        print(f"  shipped cpu-threads: {summary(before)}")
        print(f"  fitted:              {summary(after)}\n")
        print("| workload | balancer | rank | measured ms | predicted ms | error |\n|---|---|---|---|---|---|")
        print("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
