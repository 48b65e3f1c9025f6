"""Times PyTorch's CP index generation against cpsim's planning, side by side, on one CPU core.

    PYTHONPATH=build/py/python $PY bench/torch_indices.py            # 131,072 tokens (W=8) and 1,048,576 (W=64)
    PYTHONPATH=build/py/python $PY bench/torch_indices.py --quick    # 131,072 only, 3 runs, no compiled mask

Workload: one packed row, document_causal, lognormal document lengths (median ~2k tokens) rounded to multiples of 2W
so that per-document head-tail is valid; numpy seeded.

torch:  _HeadTailLoadBalancer / _PerDocumentHeadTailLoadBalancer(...)._generate_indices(restore=False) and (True);
        PTRR: what a user must do: build the global BlockMask (create_block_mask; eager materializes the S x S mask,
        17 G elements at 131k, so the compiled one that torch's own _create_cp_block_mask uses:
        torch.compile(create_block_mask, dynamic=False, fullgraph=True), timed warm, compile reported apart), then
        _PTRRLoadBalancer(block_mask, W)._generate_indices(False) and (True). "indices only" times PTRR on the exact
        per-block counts (kv_num_blocks, full_kv_num_blocks: all PTRR reads), checked equal to create_block_mask's.
        At 1M the compiled create_block_mask takes ~64x its 131k time (S^2), so it is estimated from the 131k
        median unless --mask-1m measures it (once).
cpsim:  cpsim.plan(workload, W, balancer, block_size=128, predict=False), then .rearrange_indices and
        .restore_indices (numpy int64 (B, S)); cpsim's plan also counts every rank's work.
"""
from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
import types

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

BLOCK = 128


def pin_one_core() -> int:
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def documents(seq_len: int, world: int, seed: int) -> list[int]:
    """Lognormal lengths (median 2048, sigma 1.2), multiples of 2W, at least 2W, summing to seq_len."""
    rng = np.random.default_rng(seed)
    unit = 2 * world
    docs, left = [], seq_len
    while left > 0:
        length = int(round(rng.lognormal(np.log(2048), 1.2) / unit)) * unit
        length = min(max(unit, length), left)
        docs.append(length)
        left -= length
    return docs


def block_counts(docs: list[int], seq_len: int, block: int):
    """(partial, full) non-empty KV blocks per Q block of a document-causal mask: what create_block_mask stores in
    kv_num_blocks and full_kv_num_blocks. Query q sees keys [start of its document, q]."""
    starts = np.cumsum([0] + docs[:-1])
    ends = np.cumsum(docs)
    n = seq_len // block
    nonempty = np.zeros(n, dtype=np.int64)
    full = np.zeros(n, dtype=np.int64)
    first_doc = np.searchsorted(ends, np.arange(n) * block, side="right")
    last_doc = np.searchsorted(ends, np.arange(n) * block + block - 1, side="right")
    for i in range(n):
        q0, q1 = i * block, i * block + block - 1
        prev_hi = -1
        for d in range(first_doc[i], last_doc[i] + 1):
            a, b = max(q0, starts[d]), min(q1, ends[d] - 1)
            lo, hi = starts[d] // block, b // block
            lo = max(lo, prev_hi + 1)
            if hi >= lo:
                nonempty[i] += hi - lo + 1
            prev_hi = max(prev_hi, hi)
        if first_doc[i] == last_doc[i]:  # the whole Q block in one document: KV blocks j < i inside it are full
            start = starts[first_doc[i]]
            full[i] = max(0, i - (start + block - 1) // block)
    return nonempty - full, full


def median_ms(fn, repeats: int, warmup: int = 1) -> tuple[float, object]:
    for _ in range(warmup):  # first calls pay for lazy imports and allocator growth
        fn()
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), out


def bench_size(seq_len: int, world: int, repeats: int, compiled_mask: str, torch, lbm, cpsim, cbm_compiled,
               notes: list[str]):
    docs = documents(seq_len, world, seed=seq_len + world)
    workload = cpsim.Workload([docs], mask="document_causal")
    cpu = torch.device("cpu")
    rows = []

    def cpsim_fn(balancer):
        def run():
            plan = cpsim.plan(workload, world, balancer, block_size=BLOCK, predict=False)
            return plan.rearrange_indices, plan.restore_indices
        return run

    def check(name, theirs, ours):
        same = all(np.array_equal(*np.broadcast_arrays(t.numpy().astype(np.int64), o)) for t, o in zip(theirs, ours))
        if not same:
            notes.append(f"S={seq_len} W={world} {name}: torch and cpsim indices DIFFER")
        return same

    # head_tail and per-document head-tail
    for name, make in (("head_tail", lambda: lbm._HeadTailLoadBalancer(seq_len, world, cpu)),
                       ("per_document_head_tail", lambda: lbm._PerDocumentHeadTailLoadBalancer([docs], world, cpu))):
        def torch_fn(make=make):
            lb = make()
            return lb._generate_indices(restore=False), lb._generate_indices(restore=True)
        t_ms, theirs = median_ms(torch_fn, repeats)
        c_ms, ours = median_ms(cpsim_fn(name), repeats)
        rows.append((name, t_ms, c_ms, check(name, theirs, ours), ""))

    # PTRR: the indices from the exact block counts (what PTRR reads of a BlockMask)
    partial, full = block_counts(docs, seq_len, BLOCK)
    given = types.SimpleNamespace(kv_num_blocks=torch.from_numpy(partial.astype(np.int32)).view(1, 1, -1),
                                  full_kv_num_blocks=torch.from_numpy(full.astype(np.int32)).view(1, 1, -1),
                                  BLOCK_SIZE=(BLOCK, BLOCK))

    def ptrr_indices(block_mask):
        lb = lbm._PTRRLoadBalancer(block_mask, world)
        return lb._generate_indices(restore=False), lb._generate_indices(restore=True)

    i_ms, theirs = median_ms(lambda: ptrr_indices(given), repeats)
    c_ms, ours = median_ms(cpsim_fn("ptrr"), repeats)
    same = check("ptrr", theirs, ours)

    # PTRR with the BlockMask a user must build
    mask_ms, mask_note = None, ""
    if compiled_mask in ("measure", "measure_once"):
        doc_id = torch.repeat_interleave(torch.arange(len(docs)), torch.tensor(docs))

        def mask_mod(b, h, q, k):
            return (doc_id[q] == doc_id[k]) & (q >= k)

        t0 = time.perf_counter()
        block_mask = cbm_compiled(mask_mod, 1, 1, seq_len, seq_len, device="cpu", BLOCK_SIZE=BLOCK)
        first_ms = (time.perf_counter() - t0) * 1e3
        exact = (torch.equal(block_mask.kv_num_blocks.reshape(-1).long(), torch.from_numpy(partial))
                 and torch.equal(block_mask.full_kv_num_blocks.reshape(-1).long(), torch.from_numpy(full)))
        if not exact:
            notes.append(f"S={seq_len}: create_block_mask's block counts differ from the analytic ones")
        same = check("ptrr (create_block_mask)", ptrr_indices(block_mask), ours) and same
        if compiled_mask == "measure":
            mask_ms, _ = median_ms(lambda: cbm_compiled(mask_mod, 1, 1, seq_len, seq_len, device="cpu",
                                                        BLOCK_SIZE=BLOCK), repeats, warmup=0)  # warmed above
        else:
            mask_ms = first_ms
            mask_note = "1 run"
        notes.append(f"S={seq_len}: compiled create_block_mask first call {first_ms / 1e3:.1f} s "
                     f"(compiling, or loading from the inductor cache, included); block counts equal the analytic ones: {exact}")
    elif isinstance(compiled_mask, float):
        mask_ms, mask_note = compiled_mask, "est."
    if mask_ms is not None:
        rows.append(("ptrr (create_block_mask + indices)", mask_ms + i_ms, c_ms, same, mask_note))
    rows.append(("ptrr (indices, BlockMask given)", i_ms, c_ms, same, ""))
    return docs, rows, mask_ms


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="131,072 tokens only, 3 runs, no compiled create_block_mask")
    ap.add_argument("--mask-1m", action="store_true",
                    help="measure the compiled create_block_mask at 1,048,576 tokens once (~20 min) instead of "
                         "estimating it from 131,072 (x64)")
    args = ap.parse_args(argv)

    core = pin_one_core()
    import torch
    torch.set_num_threads(1)
    import cpsim
    from torch.distributed.tensor.experimental._context_parallel import _load_balancer as lbm
    from torch.nn.attention.flex_attention import create_block_mask
    cbm_compiled = torch.compile(create_block_mask, dynamic=False, fullgraph=True)

    print(f"torch index generation vs cpsim planning, {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"torch {torch.__version__}, cpsim {cpsim.__version__}, numpy {np.__version__}, python "
          f"{sys.version.split()[0]}; one thread on core {core}; document_causal, block size {BLOCK}")
    sizes = [(131072, 8, 3 if args.quick else 7)] + ([] if args.quick else [(1048576, 64, 3)])
    notes: list[str] = []
    mask_131k = None
    estimated = False
    header = f"{'tokens':>9} {'W':>3} {'docs':>5}  {'balancer':<36} {'torch ms':>10} {'cpsim ms':>9} " \
             f"{'torch/cpsim':>11}  same"
    print(header)
    print("-" * len(header))
    for seq_len, world, repeats in sizes:
        if args.quick:
            how = None
        elif seq_len == 131072:
            how = "measure"
        elif args.mask_1m:
            how = "measure_once"
        else:
            how = None if mask_131k is None else mask_131k * (seq_len / 131072) ** 2
        docs, rows, mask_ms = bench_size(seq_len, world, repeats, how, torch, lbm, cpsim, cbm_compiled, notes)
        if seq_len == 131072:
            mask_131k = mask_ms
        for name, t_ms, c_ms, same, note in rows:
            estimated = estimated or note == "est."
            t_txt = f"{t_ms:,.1f}" + ("*" if note == "est." else "")
            print(f"{seq_len:>9,} {world:>3} {len(docs):>5}  {name:<36} {t_txt:>10} {c_ms:>9.2f} "
                  f"{t_ms / c_ms:>10.1f}x  {'yes' if same else 'NO'}" + (f"  ({note})" if note else ""))
    print(f"medians of {', '.join(str(r) for _, _, r in sizes)} runs after one warm-up; torch/cpsim > 1: cpsim is faster")
    if estimated:
        print("* estimated: the 131,072-token compiled create_block_mask median x 64 (it evaluates S^2 mask "
              "entries), plus the measured PTRR indices; --mask-1m measures it")
    for note in notes:
        print("note: " + note)
    return 1 if any("DIFFER" in n for n in notes) else 0


if __name__ == "__main__":
    sys.exit(main())
