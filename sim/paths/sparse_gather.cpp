// sparse_gather: cpsim's zero-redundancy gather (as MagiAttention and DCP move K/V): each rank receives exactly
// the K/V tokens its queries can see (all-to-all-v of core/kv_demand.h's demand), in 1 to W - 1 stages, and
// runs its tiles as block-sparse kernel calls: its own K/V's while the exchange is in flight, then each stage's.
#include <algorithm>
#include <string>

#include "core/kv_demand.h"
#include "sim/path.h"

namespace cpsim {
namespace {

// sparse_gather: each rank receives exactly the K/V tokens its queries see (all-to-all-v). Its own K/V needs
// no transfer, so the own tiles run while the exchange is in flight. With k stages (MagiAttention's
// multi-stage overlap) the ring steps 1..W-1 (source r - step of rank r) are cut into k runs whose largest
// moves the fewest bytes over all ranks, the same for every rank, so that each stage is an all-to-all-v whose
// senders are as even as its receivers: stage j's transfers run while stage j-1's tiles compute, and each
// stage's output is merged in fp32 (nearest sources first: for document masks most K/V comes from
// neighbours). Backward runs the stages first, each returning its dK/dV (fp32, the same pairs reversed)
// while the next computes, then the own tiles. `kv` is a shard's K/V bytes.
std::vector<Op> sparse_gather_schedule(const SimContext& in, bool backward, std::int64_t stages) {
  const Plan& plan = in.plan;
  const CostModel& cost = in.cost;
  const Topology& topology = in.topology;
  const double kv = in.kv_shard_bytes();
  const std::vector<std::int64_t>& demand = in.kv_demand();
  std::vector<Op> ops;
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
    op.parts.resize(ws);
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
      CostParts parts = cost.kernel_parts(work, bwd);
      const bool merges = !bwd && parts.total() > 0 && computed[static_cast<std::size_t>(r)] > 0;
      if (!bwd) computed[static_cast<std::size_t>(r)] += tiles.nonempty();
      if (merges) parts.other_us += cost.merge_us(std::min(work.active_rows * plan.block_size, plan.workload.seq_len / w * plan.workload.rows()));
      op.duration_us[static_cast<std::size_t>(r)] = parts.total();
      op.parts[static_cast<std::size_t>(r)] = parts;
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
  return ops;
}

class SparseGather final : public PathModel {
 public:
  AttentionPath path() const override { return AttentionPath::kSparseGather; }
  bool accepts(KernelInterface i) const override {
    return i == KernelInterface::kFlex || i == KernelInterface::kBlockSparse || i == KernelInterface::kAny;
  }
  std::vector<RotateMethod> rotate_methods() const override { return {RotateMethod::kAllGather}; }
  std::int64_t max_stages(std::int64_t world_size) const override { return world_size > 1 ? world_size - 1 : 1; }

  std::optional<std::string> unsupported_reason(const Plan&, const Strategy& s) const override {
    if (s.rotate != RotateMethod::kAllGather) return "the sparse gather moves all needed K/V before the kernel (allgather); hop by hop is sparse_ring";
    return std::nullopt;
  }

  std::vector<Op> schedule(const SimContext& in, bool backward, std::int64_t stages) const override {
    return sparse_gather_schedule(in, backward, std::clamp<std::int64_t>(stages, 1, max_stages(in.plan.world_size)));
  }

  // The needed K/V of the rank that needs most.
  double peak_memory_bytes(const SimContext& in, bool backward) const override {
    const Plan& plan = in.plan;
    const double n = static_cast<double>(plan.workload.seq_len / plan.world_size * plan.workload.rows());
    const std::int64_t most = most_needed_tokens(in.kv_demand(), plan.world_size);
    return attention_memory_bytes(in, kv_shard_bytes(plan) * static_cast<double>(most) / n, false, backward);
  }
};

}  // namespace

std::unique_ptr<PathModel> make_sparse_gather_path() { return std::make_unique<SparseGather>(); }

}  // namespace cpsim
