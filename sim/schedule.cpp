// Builds the op list of each strategy. Ring: the hop for step i+1 is issued before compute i and the
// communication stream runs the hops back to back; backward sends the dK/dV accumulator (fp32) one hop
// behind each compute. All-gather: one collective, overlapped with step 0 only (SDPA) or before the
// single kernel (flex); flex's backward reduce-scatters dK/dV after its kernel.
#include "sim/schedule.h"

#include <algorithm>
#include <string>

#include "core/kv_demand.h"

namespace cpsim {
namespace {

std::int64_t tiles_for(std::int64_t tokens, std::int64_t tile) { return (tokens + tile - 1) / tile; }

KernelWork dense(std::int64_t q, std::int64_t k, std::int64_t tile, std::int64_t rows) {
  const std::int64_t tq = tiles_for(q, tile);
  const std::int64_t tk = tiles_for(k, tile);
  return {tq * tk * rows, 0, tq * rows, tk};
}

KernelWork causal_square(std::int64_t m, std::int64_t tile, std::int64_t rows) {
  const std::int64_t t = tiles_for(m, tile);
  return {t * (t - 1) / 2 * rows, t * rows, t * rows, t};
}

KernelWork plan_tiles(const TileCounts& tiles, const RowStats& rows) {
  return {tiles.full, tiles.partial, rows.active_rows, rows.max_row_tiles};
}

// Ulysses (U > 1): before attention each GPU swaps sequence shards for head shards of Q, K and V inside its
// group, and after it swaps the output back; backward swaps dout in and dQ/dK/dV out. The plan's own ops
// keep their order; their dependencies shift to the new positions.
std::vector<Op> with_ulysses(std::vector<Op> inner, const Plan& plan, std::int64_t u, const Topology& topology) {
  const auto ws = static_cast<std::size_t>(plan.world_size);
  const auto& m = plan.workload.model;
  const double tokens_per_gpu = static_cast<double>(plan.workload.seq_len / plan.world_size / u * plan.workload.rows());
  const double share_out = static_cast<double>(u - 1) / static_cast<double>(u);
  const double head_bytes = static_cast<double>(m.head_dim * dtype_bytes(m.dtype)) * tokens_per_gpu * share_out;
  const double qkv_us = topology.node_all_to_all_us(head_bytes * static_cast<double>(m.q_heads + 2 * m.kv_heads));
  const double out_us = topology.node_all_to_all_us(head_bytes * static_cast<double>(m.q_heads));
  std::vector<Op> ops;
  std::vector<std::size_t> moved(inner.size());
  auto swap = [&](const char* name, bool bwd, double us, std::vector<std::size_t> deps) {
    ops.push_back({name, OpKind::kComm, bwd, -1, std::vector<double>(ws, us), std::move(deps), 0});
    return ops.size() - 1;
  };
  std::size_t gate = swap("Ulysses all-to-all Q/K/V", false, qkv_us, {});
  std::vector<std::size_t> phase;  // ops of the current pass, which the closing swap waits for
  bool in_backward = false;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    Op& op = inner[i];
    if (op.backward && !in_backward) {  // forward is done: swap the output back, then bring dout in
      swap("Ulysses all-to-all out", false, out_us, phase);
      gate = swap("Ulysses all-to-all dout", true, out_us, {});
      phase.clear();
      in_backward = true;
    }
    for (std::size_t& d : op.deps) d = moved[d];
    op.deps.push_back(gate);
    moved[i] = ops.size();
    phase.push_back(ops.size());
    ops.push_back(std::move(op));
  }
  if (in_backward) {
    swap("Ulysses all-to-all dQ/dK/dV", true, qkv_us, phase);
  } else {
    swap("Ulysses all-to-all out", false, out_us, phase);
  }
  return ops;
}

}  // namespace

std::vector<StepKernel> ring_step_kernels(const Plan& plan, AttentionPath path) {
  const std::int64_t w = plan.world_size;
  const std::int64_t n = plan.workload.seq_len / w;
  const std::int64_t rows = plan.workload.rows();
  const std::int64_t tile = plan.block_size;
  std::vector<StepKernel> out(static_cast<std::size_t>(w * w));
  for (std::int64_t r = 0; r < w; ++r) {
    for (std::int64_t i = 0; i < w; ++i) {
      StepKernel& k = out[static_cast<std::size_t>(r * w + i)];
      if (path == AttentionPath::kSparseRing) {
        k.work = plan_tiles(plan.work.step_tiles(r, i), plan.work.step_rows(r, i));
        // Only the Q tile rows that saw keys at this step have anything to merge.
        k.merge_rows = i > 0 ? std::min(k.work.active_rows * tile, n * rows) : 0;
        continue;
      }
      // SDPA ring (_is_causal_behavior): step 0 is the local causal block; later steps are full blocks.
      const bool causal = plan.workload.mask.kind == MaskKind::kCausal;
      const bool head_tail = plan.balancer == "head_tail";
      if (!causal) {
        k.work = dense(n, n, tile, rows);
      } else if (i == 0) {
        k.work = causal_square(n, tile, rows);
      } else if (!head_tail) {
        if (i <= r) k.work = dense(n, n, tile, rows);  // source < rank: full; otherwise SKIP
      } else if (i <= r) {
        k.work = dense(n, n / 2, tile, rows);  // all of Q against the KV head half
      } else {
        k.work = dense(n / 2, n, tile, rows);  // the Q tail half against all of KV: a partial merge
      }
      const bool q_tail_only = causal && head_tail && i > r;
      k.merge_rows = (i > 0 && !k.work.empty()) ? (q_tail_only ? n / 2 : n) * rows : 0;
    }
  }
  return out;
}

double kv_shard_bytes(const Plan& plan) {
  const auto& m = plan.workload.model;
  const double n = static_cast<double>(plan.workload.seq_len / plan.world_size);
  return 2.0 * n * static_cast<double>(m.kv_heads * m.head_dim * dtype_bytes(m.dtype) * plan.workload.rows());
}

double dkv_shard_bytes_fp32(const Plan& plan) {
  return kv_shard_bytes(plan) * 4.0 / static_cast<double>(dtype_bytes(plan.workload.model.dtype));
}

namespace {

// sparse_gather: each rank receives exactly the K/V tokens its queries see (all-to-all-v). Its own K/V needs
// no transfer, so the own tiles run while the exchange is in flight. With k stages (MagiAttention's
// multi-stage overlap) the ring steps 1..W-1 (source r - step of rank r) are cut into k runs whose largest
// moves the fewest bytes over all ranks, the same for every rank, so that each stage is an all-to-all-v whose
// senders are as even as its receivers: stage j's transfers run while stage j-1's tiles compute, and each
// stage's output is merged in fp32 (nearest sources first: for document masks most K/V comes from
// neighbours). Backward runs the stages first, each returning its dK/dV (fp32, the same pairs reversed)
// while the next computes, then the own tiles. `kv` is a shard's K/V bytes.
void add_sparse_gather(std::vector<Op>& ops, const Plan& plan, const CostModel& cost, const Topology& topology, double kv,
                       bool backward, const std::vector<std::int64_t>& demand, std::int64_t stages) {
  const std::int64_t w = plan.world_size;
  const auto ws = static_cast<std::size_t>(w);
  const auto at = [w](std::int64_t r, std::int64_t src) { return static_cast<std::size_t>(r * w + src); };
  const double token_bytes = kv / static_cast<double>(plan.workload.seq_len / w * plan.workload.rows());
  const double grad_scale = 4.0 / static_cast<double>(dtype_bytes(plan.workload.model.dtype));
  // stage_of[step]: the stage that brings every rank r the K/V of ring step `step` (source r - step).
  std::vector<std::int64_t> step_tokens(ws, 0), stage_of(ws, 0);
  std::int64_t total = 0, largest = 0;
  for (std::int64_t step = 1; step < w; ++step) {
    auto& t = step_tokens[static_cast<std::size_t>(step)];
    for (std::int64_t r = 0; r < w; ++r) t += demand[at(r, ring_source(r, step, w))];
    total += t;
    largest = std::max(largest, t);
  }
  // Cuts greedily under a cap on a stage's tokens; the smallest cap that needs at most k stages, by bisection.
  auto cut = [&](std::int64_t cap) {
    std::int64_t stage = 0, filled = 0;
    for (std::int64_t step = 1; step < w; ++step) {
      const std::int64_t t = step_tokens[static_cast<std::size_t>(step)];
      if (filled > 0 && filled + t > cap) ++stage, filled = 0;
      stage_of[static_cast<std::size_t>(step)] = stage;
      filled += t;
    }
    return stage + 1;
  };
  std::int64_t lo = largest, hi = total;
  while (lo < hi) {
    const std::int64_t cap = lo + (hi - lo) / 2;
    if (cut(cap) <= stages) hi = cap; else lo = cap + 1;
  }
  cut(lo);
  // "attention (received K/V)" -> "attention (received K/V, stage 1 of 2)"; "return dK/dV" -> "return dK/dV (stage 1 of 2)".
  const auto staged = [stages](std::string name, std::int64_t j) {
    if (stages == 1) return name;
    const std::string which = "stage " + std::to_string(j + 1) + " of " + std::to_string(stages);
    if (name.back() == ')') return name.insert(name.size() - 1, ", " + which);
    return name + " (" + which + ")";
  };
  // A rank's K/V has arrived once its own transfers and those of every rank that sends to it are done.
  auto grouped = [&](std::string name, bool bwd, bool gradients, std::int64_t stage, std::vector<std::size_t> deps) {
    std::vector<double> bytes(ws * ws, 0.0);
    double most = 0;
    for (std::int64_t r = 0; r < w; ++r) {
      double received = 0;
      for (std::int64_t step = 1; step < w; ++step) {
        if (stage_of[static_cast<std::size_t>(step)] != stage) continue;
        const std::int64_t src = ring_source(r, step, w);
        const double b = static_cast<double>(demand[at(r, src)]) * token_bytes;
        // K/V go source -> rank; their gradients come back rank -> source in fp32.
        bytes[gradients ? at(src, r) : at(r, src)] = gradients ? b * grad_scale : b;
        received += b;
      }
      most = std::max(most, received);
    }
    const std::vector<double> own = topology.all_to_all_v_us(bytes);
    Op op{std::move(name), OpKind::kComm, bwd, -1, own, std::move(deps), gradients ? 0.0 : most};
    op.collective = false;
    for (std::int64_t r = 0; r < w; ++r) {
      for (std::int64_t src = 0; src < w; ++src) {
        if (bytes[at(r, src)] > 0) op.duration_us[static_cast<std::size_t>(r)] = std::max(op.duration_us[static_cast<std::size_t>(r)], own[static_cast<std::size_t>(src)]);
      }
    }
    ops.push_back(std::move(op));
    return ops.size() - 1;
  };
  // The tiles of one stage (stage -1: the own K/V at step 0). A stage's CTA shape is bounded by the sum of its
  // steps' shapes and by the rank's over the whole K/V, which can only overestimate the kernel.
  std::vector<std::int64_t> computed(ws, 0);  // forward: tiles already in the rank's output (a merge is needed)
  auto part = [&](bool bwd, std::int64_t stage, std::vector<std::size_t> deps, const std::string& name) {
    Op op{name, OpKind::kCompute, bwd, -1, std::vector<double>(ws, 0), std::move(deps), 0};
    for (std::int64_t r = 0; r < w; ++r) {
      TileCounts tiles;
      RowStats rows;
      for (std::int64_t step = 0; step < w; ++step) {
        if (step == 0 ? stage != -1 : stage_of[static_cast<std::size_t>(step)] != stage) continue;
        tiles += plan.work.step_tiles(r, step);
        rows.active_rows += plan.work.step_rows(r, step).active_rows;
        rows.max_row_tiles += plan.work.step_rows(r, step).max_row_tiles;
      }
      rows.active_rows = std::min(rows.active_rows, plan.work.rank_rows(r).active_rows);
      rows.max_row_tiles = std::min(rows.max_row_tiles, plan.work.rank_rows(r).max_row_tiles);
      const KernelWork work = plan_tiles(tiles, rows);
      const double kernel = cost.kernel_us(work, bwd, KernelKind::kBlockSparse);
      const bool merges = !bwd && kernel > 0 && computed[static_cast<std::size_t>(r)] > 0;
      if (!bwd) computed[static_cast<std::size_t>(r)] += tiles.nonempty();
      op.duration_us[static_cast<std::size_t>(r)] = kernel + (merges ? cost.merge_us(std::min(work.active_rows * plan.block_size, plan.workload.seq_len / w * plan.workload.rows())) : 0.0);
    }
    ops.push_back(std::move(op));
    return ops.size() - 1;
  };
  std::vector<std::size_t> exchange;
  for (std::int64_t j = 0; j < stages; ++j) exchange.push_back(grouped(staged("exchange needed K/V", j), false, false, j, {}));
  part(false, -1, {}, "attention (own K/V)");
  for (std::int64_t j = 0; j < stages; ++j) part(false, j, {exchange[static_cast<std::size_t>(j)]}, staged("attention (received K/V)", j));
  if (backward) {
    for (std::int64_t j = 0; j < stages; ++j) {
      const std::size_t remote = part(true, j, {}, staged("attention backward (received K/V)", j));
      grouped(staged("return dK/dV", j), true, true, j, {remote});
    }
    part(true, -1, {}, "attention backward (own K/V)");
  }
}

std::vector<Op> plan_schedule(const Plan& plan, const Strategy& strategy, const CostModel& cost, const Topology& topology,
                              bool backward, const std::vector<std::int64_t>& kv_demand, std::int64_t gather_stages) {
  const std::int64_t w = plan.world_size;
  const auto ws = static_cast<std::size_t>(w);
  std::vector<Op> ops;
  auto add = [&](Op op) {
    ops.push_back(std::move(op));
    return ops.size() - 1;
  };
  auto comm = [&](std::string name, bool bwd, std::int64_t step, double duration, double bytes, std::vector<std::size_t> deps) {
    Op op{std::move(name), OpKind::kComm, bwd, step, std::vector<double>(ws, duration), std::move(deps), bytes};
    return add(std::move(op));
  };
  const double head_share = 1.0 / static_cast<double>(strategy.ulysses);  // a rank moves only its heads' K/V
  const double kv = kv_shard_bytes(plan) * head_share;
  const double gather_us = topology.ring_collective_us(kv * static_cast<double>(w));
  auto one_kernel = [&](bool bwd, std::vector<std::size_t> deps, const std::string& name) {
    Op op{name, OpKind::kCompute, bwd, -1, std::vector<double>(ws, 0), std::move(deps), 0};
    for (std::size_t r = 0; r < ws; ++r) {
      const auto ri = static_cast<std::int64_t>(r);
      op.duration_us[r] = cost.kernel_us(plan_tiles(plan.work.rank_tiles(ri), plan.work.rank_rows(ri)), bwd, KernelKind::kBlockSparse);
    }
    return add(std::move(op));
  };

  if (strategy.path == AttentionPath::kSparseGather) {
    add_sparse_gather(ops, plan, cost, topology, kv, backward, kv_demand.empty() ? kv_demand_tokens(plan) : kv_demand,
                      std::clamp<std::int64_t>(gather_stages, 1, gather_stage_limit(w)));
    return ops;
  }

  if (strategy.path == AttentionPath::kFlexAllgather) {
    // Flex CP: K/V gathered before the kernel (not overlapped); one block-sparse call over the full KV.
    const std::size_t gather = comm("all-gather K/V", false, -1, gather_us, kv * static_cast<double>(w - 1) / static_cast<double>(w), {});
    one_kernel(false, {gather}, "attention (full K/V)");
    if (backward) {
      const std::size_t b = one_kernel(true, {}, "attention backward (full K/V)");
      comm("reduce-scatter dK/dV", true, -1, gather_us, kv * static_cast<double>(w - 1) / static_cast<double>(w), {b});
    }
    return ops;
  }

  // Ring paths.
  const std::vector<StepKernel> steps = ring_step_kernels(plan, strategy.path);
  const KernelKind kind = strategy.path == AttentionPath::kSdpaRing ? KernelKind::kFlash : KernelKind::kBlockSparse;
  const bool all_to_all = strategy.rotate == RotateMethod::kAllToAll;
  const double hop_us = topology.ring_shift_us(kv);
  const double dkv = dkv_shard_bytes_fp32(plan) * head_share;
  const double dkv_hop_us = topology.ring_shift_us(dkv);
  auto step_op = [&](std::int64_t i, bool bwd, std::vector<std::size_t> deps) {
    Op op{std::string(bwd ? "backward" : "forward") + " step " + std::to_string(i), OpKind::kCompute, bwd, i,
          std::vector<double>(ws, 0), std::move(deps), 0};
    for (std::int64_t r = 0; r < w; ++r) {
      const StepKernel& k = steps[static_cast<std::size_t>(r * w + i)];
      const double kernel = cost.kernel_us(k.work, bwd, kind);
      // Forward merges out/LSE after each step; backward has no merge (it reuses the merged LSE).
      op.duration_us[static_cast<std::size_t>(r)] = kernel > 0 ? kernel + (bwd ? 0.0 : cost.merge_us(k.merge_rows)) : 0.0;
    }
    return add(std::move(op));
  };
  auto pass = [&](bool bwd) {
    std::vector<std::size_t> kv_ready(ws, 0);  // op that brings step i's K/V
    std::size_t gather = 0;
    if (!all_to_all) gather = comm(bwd ? "all-gather K/V (backward)" : "all-gather K/V", bwd, -1, gather_us, kv * static_cast<double>(w - 1) / static_cast<double>(w), {});
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

}  // namespace

std::vector<Op> build_schedule(const Plan& plan, const Strategy& strategy, const CostModel& cost, const Topology& topology,
                               bool backward, const std::vector<std::int64_t>& kv_demand, std::int64_t gather_stages) {
  std::vector<Op> ops = plan_schedule(plan, strategy, cost, topology, backward, kv_demand, gather_stages);
  if (strategy.ulysses <= 1) return ops;
  return with_ulysses(std::move(ops), plan, strategy.ulysses, topology);
}

}  // namespace cpsim
