"""Planning without the GIL: another thread runs Python while cpsim plans, threads planning at once give the
sequential results, and 10,000 plans in a loop keep memory bounded. (The speed-up of two threads is measured by
bench/python_planning.py, not here: a test must not depend on timing.)"""
import sys
import threading
import time

import numpy as np

import cpsim
from conftest import workload


def big_workload():
    rng = np.random.default_rng(7)
    docs = list(rng.integers(1, 64, 300) * 64)
    docs.append(1048576 - sum(docs))
    return cpsim.Workload([docs])


def ticks_inside(call, attempts=5):
    """How often another thread ran Python while `call` ran. The switch interval is made so long that the GIL changes
    hands only when its holder lets it go (the spinner at each sleep(0), this thread only inside `call`), so the count
    is exact: 0 for a call that holds the GIL, whatever the machine's load."""
    ticks, stop, started = [0], threading.Event(), threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1
            started.set()
            time.sleep(0)  # lets the GIL go: the main thread takes it back after its call

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    spinner = threading.Thread(target=spin)
    spinner.start()
    best = 0
    try:
        started.wait(10)
        for _ in range(attempts):
            before = ticks[0]
            call()
            best = max(best, ticks[0] - before)
            if best > 0:
                break
    finally:
        stop.set()
        spinner.join(30)
        sys.setswitchinterval(interval)
    return best


def test_another_thread_runs_python_while_cpsim_plans():
    w = big_workload()
    assert ticks_inside(lambda: cpsim.plan(w, 64, "cost_aware", predict=False)) > 0, "planning holds the GIL"
    assert ticks_inside(lambda: cpsim.compare(w, 64, balancers="pytorch", ulysses=False)) > 0, "compare holds the GIL"


def test_the_gil_check_sees_a_call_that_holds_the_gil():
    lengths = [1] * 8_000_000  # converting a long Python list runs with the GIL held
    assert ticks_inside(lambda: cpsim.Workload.from_lengths(lengths, 1 << 20, rows=1), attempts=1) == 0


def test_threads_planning_at_once_give_the_sequential_results():
    rng = np.random.default_rng(11)
    workloads = []
    for _ in range(16):
        docs = list(rng.integers(1, 32, 40) * 32)
        docs.append(131072 - sum(docs))
        workloads.append(cpsim.Workload([docs]))
    expected = [cpsim.choose(w, 8).to_json() for w in workloads]
    got = [None] * len(workloads)
    errors = []

    def worker(k):
        try:
            for i in range(k, len(workloads), 4):
                got[i] = cpsim.choose(workloads[i], 8).to_json()
        except Exception as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert got == expected


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_ten_thousand_plans_keep_memory_bounded():
    w = workload()
    for _ in range(1000):  # warm up: allocator pools, the profile cache
        p = cpsim.plan(w, 4, "ptrr")
        p.rearrange_indices, p.restore_indices, p.predicted
    before = rss_bytes()
    for i in range(10000):
        p = cpsim.plan(w, 4, ("ptrr", "head_tail", "cost_aware")[i % 3])
        p.rearrange_indices, p.restore_indices, p.predicted
        if i % 1000 == 0:
            try:
                cpsim.plan(w, 7)
            except cpsim.Error:
                pass
    grown = rss_bytes() - before
    # Each plan holds ~0.5 MB (indices, layouts, work); a leak of even one plan per call would be ~5 GB.
    assert grown < 32 << 20, f"resident memory grew by {grown / 2**20:.1f} MiB over 10,000 plans"
