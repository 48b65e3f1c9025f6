#!/usr/bin/env python3
"""PyTorch flex_attention forward throughput on the same shapes as cpsim's kernel check (scripts/gpu-check.sh):
causal and document_causal at 32k and 128k tokens, 32 q heads, 8 kv heads, head dim 128, bf16, block mask 128.
Reads the workloads gpu-check.sh generated (tp-*.json) for the document lengths; writes median times and
useful TFLOP/s (4 * D * H * visible pairs / time)."""
import argparse
import json
import statistics

import torch
from torch.nn.attention.flex_attention import create_block_mask, flex_attention


def visible_pairs(doc_lengths, causal_docs):
    return sum(n * (n + 1) // 2 for n in doc_lengths) if causal_docs else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    heads, kv_heads, dim = 32, 8, 128
    compiled = torch.compile(flex_attention, dynamic=False)
    results = []
    for kind in ("causal", "doc"):
        for s in (32768, 131072):
            wl = json.load(open(f"{args.workdir}/tp-{kind}-{s}.json"))
            docs = wl["documents"][0]
            doc_id = torch.repeat_interleave(torch.arange(len(docs), device="cuda"), torch.tensor(docs, device="cuda"))

            def mask_mod(b, h, q, k):
                return (q >= k) & (doc_id[q] == doc_id[k])

            block_mask = create_block_mask(mask_mod, 1, 1, s, s, device="cuda")
            q = torch.randn(1, heads, s, dim, device="cuda", dtype=torch.bfloat16)
            k = torch.randn(1, kv_heads, s, dim, device="cuda", dtype=torch.bfloat16)
            v = torch.randn(1, kv_heads, s, dim, device="cuda", dtype=torch.bfloat16)
            for _ in range(3):
                compiled(q, k, v, block_mask=block_mask, enable_gqa=True)
            torch.cuda.synchronize()
            times = []
            for _ in range(10):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                compiled(q, k, v, block_mask=block_mask, enable_gqa=True)
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end) * 1000.0)
            us = statistics.median(times)
            pairs = visible_pairs(docs, True)
            tflops = 4.0 * dim * heads * pairs / (us * 1e-6) / 1e12
            results.append({"kind": kind, "seq_len": s, "median_us": us, "useful_tflops": tflops,
                            "torch": torch.__version__, "device": torch.cuda.get_device_name()})
            print(f"flex_attention {kind} {s}: {us:.1f} us, {tflops:.1f} TFLOP/s useful")
    json.dump(results, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
