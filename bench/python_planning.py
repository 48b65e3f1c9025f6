"""Python per-batch planning against the C++ batch path, and two threads against one, in one run.

    PYTHONPATH=build/release/python python bench/python_planning.py [--runs N] [--cpsim build/release/cli/cpsim]

200 batches of 131,072 tokens (document_causal, lognormal lengths: bench/batch_throughput.sh's), W = 16 on h100-sxm-ib,
PyTorch's balancers, every path, no Ulysses. C++: `cpsim batch --balancers pytorch --no-ulysses --no-plans -j 1`
(reads the JSONL, plans, writes a result per line). Python: cpsim.Workload from each line's document lengths,
cpsim.choose over the same candidates, and the plan's rearrange and restore indices as numpy arrays. Both on one
core (CPU 0), runs interleaved; medians. Then the same 200 batches on 2 threads against 1 (all cores).
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import cpsim

KW = dict(runtime=None, hardware="h100-sxm-ib", balancers="pytorch", ulysses=False)


def cpp_rate(cpsim_bin, jsonl, work):
    out = os.path.join(work, "out")
    subprocess.run(["rm", "-rf", out], check=True)
    r = subprocess.run(["taskset", "-c", "0", cpsim_bin, "batch", jsonl, "-w", "16", "--hardware", "h100-sxm-ib", "-j", "1", "-o", out,
                        "--balancers", "pytorch", "--no-ulysses", "--no-plans"], capture_output=True, text=True, check=True)
    line = next(l for l in r.stdout.splitlines() if "lines/s" in l)
    return float(line.split(":")[-1].split()[0])


def plan_all(rows, out=None):
    for docs in rows:
        p = cpsim.choose(cpsim.Workload(docs), 16, **KW)
        p.rearrange_indices, p.restore_indices
        if out is not None:
            out.append(p.strategy)


def python_rate(rows):
    start = time.perf_counter()
    plan_all(rows)
    return len(rows) / (time.perf_counter() - start)


def threads_time(rows, threads):
    parts = [rows[k::threads] for k in range(threads)]
    workers = [threading.Thread(target=plan_all, args=(part,)) for part in parts]
    start = time.perf_counter()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cpsim", default="build/release/cli/cpsim")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        jsonl = os.path.join(work, "b.jsonl")
        subprocess.run([args.cpsim, "generate", "--seq-len", "131072", "--dist", "lognormal", "--mean", "4096", "--sigma", "1.2",
                        "--min-len", "64", "--multiple-of", "32", "--seed", "100", "--batches", "200", "--out", jsonl],
                       check=True, capture_output=True)
        rows = [json.loads(l)["documents"] for l in open(jsonl)]
        every = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {0})
        plan_all(rows[:20])  # warm: the profile cache, the allocator
        cpp, py = [], []
        for _ in range(args.runs):
            cpp.append(cpp_rate(args.cpsim, jsonl, work))
            py.append(python_rate(rows))
        os.sched_setaffinity(0, every)
        one = [threads_time(rows, 1) for _ in range(args.runs)]
        two = [threads_time(rows, 2) for _ in range(args.runs)]
    c, p = statistics.median(cpp), statistics.median(py)
    print(f"cpsim Python planning vs the C++ batch path, {len(rows)} x 131,072 tokens, W = 16, {args.runs} runs, "
          f"{datetime.date.today()}, {os.cpu_count()} cores")
    print(f"  C++ batch (one core)        median {c:7.1f} batches/s   (runs: {' '.join(f'{x:.1f}' for x in cpp)})")
    print(f"  Python choose (one core)    median {p:7.1f} batches/s   (runs: {' '.join(f'{x:.1f}' for x in py)})")
    print(f"  Python time / C++ time      {c / p:.3f}x  (target <= 1.1x, and >= 100 batches/s per core)")
    t1, t2 = statistics.median(one), statistics.median(two)
    print(f"  1 thread  median {t1:.3f} s, 2 threads median {t2:.3f} s: 2 threads {t1 / t2:.2f}x faster (the GIL released while planning)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
