#!/usr/bin/env python3
"""Times PyTorch's own attention kernels on the per-rank shards of cpsim plans and writes one MEASURED.json per
(plan, kernel), in the schema `cpsim execute` writes, so that `cpsim calibrate` refits every kernel from one GPU run.

    python3 bench/torch_kernels.py PLAN.json... --out-dir DIR [--kernels fa2,cudnn,fa3,flex] [--backward] [--dry-run]

What runs is what PyTorch CP runs on each rank:
  fa2, cudnn, fa3  the SDPA ring's calls (PyTorch's _is_causal_behavior, as sim/paths/sdpa_ring.cpp): per (rank,
                   step) the local causal block, a full block, or the head-tail halves; fa2 and cudnn are SDPA's
                   FLASH_ATTENTION and CUDNN_ATTENTION backends, fa3 flash_attn_interface (skipped if not installed).
                   Plans the SDPA ring cannot run (other masks or balancers) are skipped for these kernels.
  flex             FlexAttention CP's one call per rank: the rank's queries against all K/V with its block mask.
Each call is timed with CUDA events (3 warm-ups, the median of --reps), forward and, with --backward, backward
(forward + backward less forward). The work of each call (full and partial tiles, active rows, longest row) is the
plan's, so the fit sees the simulator's own description of it.

--dry-run needs neither a GPU nor PyTorch: a fixed formula stands in for the timer, so that the files and their fit
are tested on any machine (tests/python/test_torch_kernels.py).
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from cpsim_torch import PlanError, read_plan  # noqa: E402

SDPA_KERNELS = ("fa2", "cudnn", "fa3")
ALL_KERNELS = SDPA_KERNELS + ("flex",)


def tiles_for(tokens, block):
    return (tokens + block - 1) // block


def dense(q, k, block, rows):
    """Work of q queries against k keys, every pair visible (sdpa_ring.cpp's dense)."""
    tq, tk = tiles_for(q, block), tiles_for(k, block)
    return {"full_tiles": tq * tk * rows, "partial_tiles": 0, "active_rows": tq * rows, "max_row_tiles": tk}


def causal_square(m, block, rows):
    t = tiles_for(m, block)
    return {"full_tiles": t * (t - 1) // 2 * rows, "partial_tiles": t * rows, "active_rows": t * rows, "max_row_tiles": t}


def sdpa_ring_calls(plan):
    """Per (rank, step) the SDPA ring's kernel call: (q slice, k slice, is_causal, work), or None where the step is
    skipped. Slices are 'all', 'head' or 'tail' halves of the shard. Raises PlanError for plans it cannot run."""
    w, block = plan["world_size"], plan["block_size"]
    workload = plan["workload"]
    mask = workload["mask"]["kind"]
    rows = len(workload["documents"])
    n = workload["seq_len"] // w
    balancer = plan["balancer"]
    if mask not in ("causal", "full"):
        raise PlanError(f"{plan['_path']}: mask: the SDPA ring runs causal or full masks, not {mask}")
    if balancer not in ("contiguous", "head_tail") or (mask == "full" and balancer == "head_tail"):
        raise PlanError(f"{plan['_path']}: balancer: the SDPA ring runs {balancer} plans only as PyTorch does (contiguous, or head_tail on causal)")
    head_tail = balancer == "head_tail"
    calls = {}
    for r in range(w):
        for i in range(w):
            if mask == "full":
                calls[(r, i)] = ("all", "all", False, dense(n, n, block, rows))
            elif i == 0:
                calls[(r, i)] = ("all", "all", True, causal_square(n, block, rows))
            elif not head_tail:
                calls[(r, i)] = ("all", "all", False, dense(n, n, block, rows)) if i <= r else None
            elif i <= r:
                calls[(r, i)] = ("all", "head", False, dense(n, n // 2, block, rows))
            else:
                calls[(r, i)] = ("tail", "all", False, dense(n // 2, n, block, rows))
    return calls


def flex_calls(plan):
    """Per rank FlexAttention CP's one call against all K/V, with the rank's tiles from the plan."""
    work = plan["work"]
    calls = {}
    for entry in work["per_rank"]:
        r = entry["rank"]
        if "active_rows" not in entry:
            raise PlanError(f"{plan['_path']}: work.per_rank[{r}].active_rows: missing (plan it again with this cpsim)")
        calls[(r, 0)] = {k: entry[k] for k in ("full_tiles", "partial_tiles", "active_rows", "max_row_tiles")}
    return calls


class DryTimer:
    """A stand-in for the GPU: microseconds from the call's size, so that files and fits are reproducible."""

    def __init__(self, kernel):
        self.rate = {"fa2": 0.9, "cudnn": 0.6, "fa3": 0.5, "flex": 0.8}[kernel]

    def time(self, work, shape, backward):
        tiles = work["full_tiles"] + 1.3 * work["partial_tiles"]
        us = 4.0 + self.rate * tiles * shape["q_heads"] * (shape["head_dim"] / 128.0) / 132.0 * 8.0 + 2.0 * work["active_rows"] / 132.0
        return us * (2.7 if backward else 1.0)


class TorchTimer:
    """Times real calls of one kernel on the GPU."""

    def __init__(self, kernel, plan, reps):
        import torch  # only here: --dry-run must work without it

        self.torch = torch
        self.kernel = kernel
        self.reps = reps
        self.plan = plan
        model = plan["workload"]["model"]
        self.h, self.hkv, self.d = model["q_heads"], model["kv_heads"], model["head_dim"]
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[model["dtype"]]
        if kernel == "fa3":
            import flash_attn_interface  # noqa: F401  (raises ImportError where FA3 is not installed)

            self.fa3 = flash_attn_interface
        if kernel == "flex":
            from torch.nn.attention.flex_attention import create_block_mask, flex_attention

            self.create_block_mask = create_block_mask
            self.flex = torch.compile(flex_attention, dynamic=False)

    def _median_us(self, fn):
        torch = self.torch
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(self.reps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) * 1000.0)
        return statistics.median(times)

    def _tensors(self, b, q_len, k_len, layout):
        torch = self.torch
        dims = {"bhsd": ((b, self.h, q_len, self.d), (b, self.hkv, k_len, self.d)), "bshd": ((b, q_len, self.h, self.d), (b, k_len, self.hkv, self.d))}
        qs, ks = dims[layout]
        q = torch.randn(qs, device="cuda", dtype=self.dtype, requires_grad=True)
        k = torch.randn(ks, device="cuda", dtype=self.dtype, requires_grad=True)
        v = torch.randn(ks, device="cuda", dtype=self.dtype, requires_grad=True)
        return q, k, v

    def _forward_backward(self, forward, q, k, v):
        out = forward(q, k, v)
        dout = self.torch.randn_like(out)

        def both():
            o = forward(q, k, v)
            self.torch.autograd.grad(o, (q, k, v), dout)

        fwd = self._median_us(lambda: forward(q, k, v))
        return fwd, max(self._median_us(both) - fwd, 0.0)

    def sdpa_call(self, q_len, k_len, causal):
        torch = self.torch
        b = len(self.plan["workload"]["documents"])
        if self.kernel == "fa3":
            q, k, v = self._tensors(b, q_len, k_len, "bshd")

            def forward(q, k, v):
                out = self.fa3.flash_attn_func(q, k, v, causal=causal)
                return out[0] if isinstance(out, tuple) else out
        else:
            from torch.nn.attention import SDPBackend, sdpa_kernel

            backend = SDPBackend.FLASH_ATTENTION if self.kernel == "fa2" else SDPBackend.CUDNN_ATTENTION
            q, k, v = self._tensors(b, q_len, k_len, "bhsd")

            def forward(q, k, v):
                with sdpa_kernel(backend):
                    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=self.hkv != self.h)
        return self._forward_backward(forward, q, k, v)

    def flex_call(self, rank):
        torch = self.torch
        plan = self.plan
        workload = plan["workload"]
        s, w = workload["seq_len"], plan["world_size"]
        n = s // w
        rows = plan["rearrange_indices"]
        qpos = torch.tensor([row[rank * n:(rank + 1) * n] for row in rows], device="cuda")
        kpos = torch.tensor(rows, device="cuda")
        doc = torch.tensor([[d for d, length in enumerate(docs) for _ in range(length)] for docs in workload["documents"]], device="cuda")
        kind = workload["mask"]["kind"]
        window = workload["mask"].get("window", 0)
        prefix = workload["mask"].get("prefix", 0)

        def mask_mod(b, h, qi, ki):
            qp, kp = qpos[b, qi], kpos[b, ki]
            same = doc[b, qp] == doc[b, kp]
            causal = kp <= qp
            return {
                "causal": causal,
                "full": qp >= 0,
                "document_causal": same & causal,
                "document_full": same,
                "sliding_window": causal & (qp - kp < window),
                "document_sliding_window": same & causal & (qp - kp < window),
                "prefix_lm": causal | ((qp < prefix) & (kp < prefix)),
            }[kind]

        b = len(rows)
        block_mask = self.create_block_mask(mask_mod, b, None, n, s, device="cuda", BLOCK_SIZE=plan["block_size"])
        q, k, v = self._tensors(b, n, s, "bhsd")
        return self._forward_backward(lambda q, k, v: self.flex(q, k, v, block_mask=block_mask, enable_gqa=self.hkv != self.h), q, k, v)


def measure(plan, kernel, timer, backward):
    """The MEASURED.json document of one plan on one kernel (None when the kernel cannot run the plan)."""
    model = plan["workload"]["model"]
    shape = {"q_heads": model["q_heads"], "kv_heads": model["kv_heads"], "head_dim": model["head_dim"]}
    w = plan["world_size"]
    n = plan["workload"]["seq_len"] // w
    if kernel == "flex":
        calls = flex_calls(plan)
        path, rotate = "flex_allgather", "allgather"
    else:
        calls = sdpa_ring_calls(plan)
        path, rotate = "sdpa_ring", plan.get("rotate") or "alltoall"
    steps, back = [], []
    per_rank, per_rank_back = [0.0] * w, [0.0] * w
    cache = {}
    for (r, i), call in sorted(calls.items()):
        if call is None:
            continue
        if kernel == "flex":
            work = call
            key = ("flex", r)
        else:
            qs, ks, causal, work = call
            key = (qs, ks, causal)
        if key not in cache:
            if isinstance(timer, DryTimer):
                cache[key] = (timer.time(work, shape, False), timer.time(work, shape, True))
            elif kernel == "flex":
                cache[key] = timer.flex_call(r)
            else:
                q_len = n if qs == "all" else n // 2
                k_len = n if ks == "all" else n // 2
                cache[key] = timer.sdpa_call(q_len, k_len, causal)
        fwd, bwd = cache[key]
        step = {"rank": r, "step": i, "compute_us": round(fwd, 3), "comm_us": 0.0, **work, "comm_bytes": 0.0}
        steps.append(step)
        per_rank[r] += fwd
        if backward:
            back.append({**step, "compute_us": round(bwd, 3)})
            per_rank_back[r] += bwd
    strategy_text = f"{plan['balancer']} + {path}/{rotate} on {kernel}"
    device, driver = "dry run (no GPU)", ""
    if not isinstance(timer, DryTimer):
        device, driver = timer.torch.cuda.get_device_name(), "torch " + timer.torch.__version__ + ", CUDA " + str(timer.torch.version.cuda)
    doc = {
        "schema_version": 1,
        "plan": plan["_path"],
        "workload_digest": plan["workload_digest"],
        "executor": "torch",
        "device_kind": "gpu",
        "device": device,
        "driver": driver,
        "commit": "",
        "world_size": w,
        "strategy": {"text": strategy_text, "balancer": plan["balancer"], "path": path, "rotate": rotate, "ulysses": 1,
                     "pure_ulysses": False, "gather_stages": 0, "kernel": kernel},
        "tile_size": plan["block_size"],
        "shape": shape,
        "total_us": max(per_rank) if per_rank else 0.0,
        "max_abs_error": 0.0,
        "max_rel_error": 0.0,
        "tolerance": 0.0,
        "verified": False,
        "steps": steps,
    }
    # The plan's prediction, when it is for this kernel and path (otherwise there is nothing to set beside it).
    predicted = plan.get("predicted") or {}
    if predicted.get("kernel") == kernel and predicted.get("path") == path:
        doc["predicted"] = predicted
    if backward:
        doc["backward"] = {"total_us": max(per_rank_back), "max_abs_error": 0.0, "max_rel_error": 0.0, "tolerance": 0.0,
                           "verified": False, "steps": back}
    return doc


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("plans", nargs="+")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--kernels", default=",".join(ALL_KERNELS))
    ap.add_argument("--backward", action="store_true")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    kernels = [k for k in args.kernels.split(",") if k]
    for k in kernels:
        if k not in ALL_KERNELS:
            print(f"torch_kernels: --kernels: unknown kernel {k!r} (expected some of {', '.join(ALL_KERNELS)})", file=sys.stderr)
            return 2
    if args.reps < 1 or args.reps > 1000:
        print(f"torch_kernels: --reps: must be 1 to 1000, got {args.reps}", file=sys.stderr)
        return 2
    os.makedirs(args.out_dir, exist_ok=True)
    written = 0
    for path in args.plans:
        try:
            plan = read_plan(path)
        except PlanError as e:
            print(f"torch_kernels: {e}", file=sys.stderr)
            return 2
        plan["_path"] = path
        name = os.path.splitext(os.path.basename(path))[0]
        for kernel in kernels:
            try:
                timer = DryTimer(kernel) if args.dry_run else TorchTimer(kernel, plan, args.reps)
                doc = measure(plan, kernel, timer, args.backward)
            except PlanError as e:
                print(f"skipped {name} on {kernel}: {e}")
                continue
            except ImportError as e:
                print(f"skipped {kernel}: not importable here ({e})")
                continue
            out = os.path.join(args.out_dir, f"measured-{name}-{kernel}.json")
            tmp = out + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1)
                f.write("\n")
            os.replace(tmp, out)
            written += 1
            print(f"{out}: {len(doc['steps'])} calls, slowest rank {doc['total_us'] / 1000:.3f} ms forward")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
