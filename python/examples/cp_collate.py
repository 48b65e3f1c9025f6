"""A DataLoader collate function that packs documents into rows, plans context parallelism for each batch with cpsim
and hands back the tokens with the plan's indices and rotate method: online planning, one batch at a time.

    collate = CPCollate(seq_len=131072, world_size=8)                 # on the 8-GPU H100 profile, PyTorch-runnable plans
    loader = DataLoader(documents, batch_size=64, collate_fn=collate)  # each item: one document's token ids
    for batch in loader:
        lb = cpsim.torch.load_balancer(batch["plan"])                # or batch["rearrange_indices"] yourself
        ...

Run it as a script to see it plan a few batches of synthetic documents: python cp_collate.py
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np

import cpsim


class CPCollate:
    """Packs a list of documents (token id sequences) into rows of seq_len the way Megatron-LM and torchtitan do
    (concatenate, cut at row ends; the last row padded with pad_id), then plans the rows on world_size ranks.

    Returns a dict: input_ids (B, S) int64; document_lengths (list per row, the mask's documents; a cut document's
    tail is its own document in the next row); rearrange_indices and restore_indices (B, S) int64 in PyTorch's
    contract; rotate ('allgather'/'alltoall'), strategy, predicted step_us, and the cpsim.Plan itself.
    """

    def __init__(self, seq_len: int, world_size: int, *, hardware: str = "h100-sxm-8x", runtime: str | None = "pytorch",
                 mask: str = "document_causal", pad_id: int = 0, **model: Any):
        self.seq_len, self.world_size, self.hardware, self.runtime = seq_len, world_size, hardware, runtime
        self.mask, self.pad_id, self.model = mask, pad_id, model

    def __call__(self, documents: Sequence[Sequence[int]]) -> dict[str, Any]:
        lengths = [len(d) for d in documents]
        workload = cpsim.Workload.from_lengths(lengths, self.seq_len, mask=self.mask, **self.model)
        tokens = np.full(workload.rows * self.seq_len, self.pad_id, dtype=np.int64)
        flat = np.concatenate([np.asarray(d, dtype=np.int64) for d in documents]) if documents else tokens[:0]
        tokens[: flat.size] = flat
        plan = cpsim.choose(workload, self.world_size, runtime=self.runtime, hardware=self.hardware)
        return {
            "input_ids": tokens.reshape(workload.rows, self.seq_len),
            "document_lengths": workload.documents,
            "rearrange_indices": plan.rearrange_indices,
            "restore_indices": plan.restore_indices,
            "rotate": plan.rotate,
            "strategy": plan.strategy,
            "step_us": plan.step_us,
            "plan": plan,
        }


def synthetic_documents(count: int, seed: int) -> list[np.ndarray]:
    """Documents of lognormal length (median ~2k tokens, a long tail), as token ids."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(2048), 1.1, count).astype(int), 16, 60000)
    return [rng.integers(1, 50000, n) for n in lengths]


def main(argv: list[str]) -> int:
    batches = int(argv[1]) if len(argv) > 1 else 3
    collate = CPCollate(seq_len=131072, world_size=8)
    for b in range(batches):
        batch = collate(synthetic_documents(70, seed=b))
        ids, r = batch["input_ids"], batch["rearrange_indices"]
        shard = ids[0][r[0]][: ids.shape[1] // 8]  # rank 0's tokens after rearranging (what _context_parallel_shard keeps)
        print(f"batch {b}: {ids.shape[0]} row(s) x {ids.shape[1]:,} tokens, 70 documents as {sum(map(len, batch['document_lengths']))} "
              f"mask documents (cut at row ends, plus padding); "
              f"{batch['strategy']} (rotate {batch['rotate']}), predicted {batch['step_us'] / 1000:.3f} ms; rank 0 holds {shard.size:,} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
