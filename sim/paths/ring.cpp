// The ring's op order, shared by sdpa_ring and sparse_ring.
#include "sim/paths/ring.h"

#include <string>

namespace cpsim {

std::vector<Op> ring_schedule(const SimContext& in, bool backward) {
  const Plan& plan = in.plan;
  const std::int64_t w = plan.world_size;
  const auto ws = static_cast<std::size_t>(w);
  std::vector<Op> ops;
  auto add = [&](Op op) {
    ops.push_back(std::move(op));
    return ops.size() - 1;
  };
  auto comm = [&](std::string name, bool bwd, std::int64_t step, double duration, double bytes, std::vector<std::size_t> deps) {
    return add(Op{std::move(name), OpKind::kComm, bwd, step, std::vector<double>(ws, duration), std::move(deps), bytes});
  };
  const double kv = in.kv_shard_bytes();
  const double gather_us = in.topology.ring_collective_us(CommOp::kAllGather, kv * static_cast<double>(w));
  const std::vector<StepKernel>& steps = in.ring_steps();
  const bool all_to_all = in.strategy.rotate == RotateMethod::kAllToAll;
  const double hop_us = in.topology.ring_shift_us(kv);
  const double dkv = dkv_shard_bytes_fp32(plan) * (1.0 / static_cast<double>(in.strategy.ulysses));  // its heads' only
  const double dkv_hop_us = in.topology.ring_shift_us(dkv);
  const std::int64_t shard_rows = plan.workload.seq_len / w * plan.workload.rows();  // K/V tokens of a shard
  auto step_op = [&](std::int64_t i, bool bwd, std::vector<std::size_t> deps) {
    Op op{std::string(bwd ? "backward" : "forward") + " step " + std::to_string(i), OpKind::kCompute, bwd, i,
          std::vector<double>(ws, 0), std::move(deps), 0};
    op.parts.resize(ws);
    for (std::int64_t r = 0; r < w; ++r) {
      const StepKernel& k = steps[static_cast<std::size_t>(r * w + i)];
      CostParts parts = in.cost.kernel_parts(k.work, bwd);
      if (parts.total() > 0) {
        // Forward merges out/LSE after each step; backward reuses the merged LSE and accumulates the step's dQ, dK, dV
        // into fp32 (step 0 initialises them).
        parts.other_us += bwd ? (i > 0 ? in.cost.accumulate_us(k.merge_rows, shard_rows) : 0.0) : in.cost.merge_us(k.merge_rows);
      }
      op.duration_us[static_cast<std::size_t>(r)] = parts.total();
      op.parts[static_cast<std::size_t>(r)] = parts;
    }
    return add(std::move(op));
  };
  auto pass = [&](bool bwd) {
    std::vector<std::size_t> kv_ready(ws, 0);  // op that brings step i's K/V
    std::size_t gather = 0;
    if (!all_to_all) {
      gather = comm(bwd ? "all-gather K/V (backward)" : "all-gather K/V", bwd, -1, gather_us,
                    kv * static_cast<double>(w - 1) / static_cast<double>(w), {});
    }
    for (std::int64_t i = 0; i < w; ++i) {
      if (all_to_all && i + 1 < w) {
        kv_ready[static_cast<std::size_t>(i + 1)] = comm("K/V hop " + std::to_string(i + 1) + (bwd ? " (backward)" : ""), bwd, i + 1, hop_us, kv, {});
      }
      std::vector<std::size_t> deps;
      if (i > 0) deps.push_back(all_to_all ? kv_ready[static_cast<std::size_t>(i)] : gather);
      const std::size_t step = step_op(i, bwd, deps);
      if (bwd) {
        // dK/dV of the K/V block held at step i, accumulated and sent on (fp32), W hops in all.
        comm("dK/dV hop " + std::to_string(i + 1), true, i, dkv_hop_us, dkv, {step});
      }
    }
  };
  pass(false);
  if (backward) pass(true);
  return ops;
}

double ring_memory_bytes(const SimContext& in, bool backward) {
  const double kv = kv_shard_bytes(in.plan);
  const bool gathered = in.strategy.rotate == RotateMethod::kAllGather;
  return attention_memory_bytes(in, gathered ? static_cast<double>(in.plan.world_size) * kv : 2.0 * kv, true, backward);
}

}  // namespace cpsim
