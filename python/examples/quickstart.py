"""The README's "From Python" example: plan one packed batch in process and hand the plan to PyTorch."""
import numpy as np

import cpsim

# One row of 131,072 tokens packed from documents (cpsim.Workload.from_lengths packs a data set's lengths for you).
rng = np.random.default_rng(0)
lengths = rng.lognormal(np.log(2048), 1.1, 200).astype(int).clip(16, 60000)
workload = cpsim.Workload.from_lengths(lengths, 131072, rows=1)
print(workload)

plan = cpsim.choose(workload, 8, runtime="pytorch")  # the fastest plan PyTorch CP runs, on 8 H100s
print(plan.strategy, f"{plan.step_us / 1000:.3f} ms", plan.runtime_note)
print(plan.rearrange_indices.shape, plan.rearrange_indices.dtype, "rotate:", plan.rotate)
print("pairs per rank:", plan.rank_pairs, f"imbalance {plan.pair_imbalance:.3f}")

ranking = cpsim.compare(workload, 8)
print("winner:", ranking["why"])
print("best PyTorch runs:", ranking["best_pytorch"]["strategy"])

try:
    cpsim.plan(workload, 7)
except cpsim.Error as e:  # a ValueError with the CLI's one-line message
    print("error:", e)

# In the training script: cpsim.torch turns the plan into PyTorch's _LoadBalancer (torch is imported only here).
#   import cpsim.torch
#   lb = cpsim.torch.load_balancer(plan, world_size=cp_mesh.size(), seq_len=131072)
#   cpsim.torch.set_rotate_method(plan)
#   q, k, v, block_mask = _context_parallel_shard(cp_mesh, [q, k, v, block_mask], [2, 2, 2, 0], load_balancer=lb)
#   ... flex_attention under parallelize_module(..., _ContextParallel(FLEX)) ...
#   (out,) = context_parallel_unshard(cp_mesh, [out], [2], load_balancer=lb)
# (torch 2.15's context_parallel() context manager takes no load_balancer; see README "From Python".)
