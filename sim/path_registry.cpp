// Registration of the attention paths, and what they share: the simulation context's derived inputs, shard
// sizes and the memory every path holds.
#include <algorithm>
#include <cassert>

#include "core/kv_demand.h"
#include "sim/path.h"

namespace cpsim {

const std::vector<std::unique_ptr<PathModel>>& path_registry() {
  static const std::vector<std::unique_ptr<PathModel>> registry = [] {
    std::vector<std::unique_ptr<PathModel>> all;
    all.push_back(make_sdpa_ring_path());
    all.push_back(make_flex_allgather_path());
    all.push_back(make_sparse_ring_path());
    all.push_back(make_sparse_gather_path());
    return all;
  }();
  return registry;
}

const PathModel& path_model(AttentionPath path) {
  for (const auto& p : path_registry()) {
    if (p->path() == path) return *p;
  }
  assert(false && "every AttentionPath is registered");
  return *path_registry().front();
}

const std::vector<std::int64_t>& SimContext::kv_demand() const {
  if (!kv_demand_) kv_demand_ = kv_demand_tokens(plan);
  return *kv_demand_;
}

const std::vector<StepKernel>& SimContext::ring_steps() const {
  if (!ring_steps_) ring_steps_ = path_model(strategy.path).ring_steps(plan);
  return *ring_steps_;
}

double SimContext::kv_shard_bytes() const { return cpsim::kv_shard_bytes(plan) * (1.0 / static_cast<double>(strategy.ulysses)); }

KernelWork plan_tiles(const TileCounts& tiles, const RowStats& rows) {
  return {tiles.full, tiles.partial, rows.active_rows, rows.max_row_tiles};
}

double kv_shard_bytes(const Plan& plan) {
  const auto& m = plan.workload.model;
  const double n = static_cast<double>(plan.workload.seq_len / plan.world_size);
  return 2.0 * n * static_cast<double>(m.kv_heads * m.head_dim * dtype_bytes(m.dtype) * plan.workload.rows());
}

double dkv_shard_bytes_fp32(const Plan& plan) {
  return kv_shard_bytes(plan) * 4.0 / static_cast<double>(dtype_bytes(plan.workload.model.dtype));
}

double attention_memory_bytes(const SimContext& in, double kv_buffers, bool ring, bool backward) {
  const Plan& plan = in.plan;
  const auto& model = plan.workload.model;
  const double n = static_cast<double>(plan.workload.seq_len / plan.world_size * plan.workload.rows());
  const double b = dtype_bytes(model.dtype);
  const double q = n * static_cast<double>(model.q_heads * model.head_dim) * b;  // Q, out, dout alike
  const double kv = kv_shard_bytes(plan);
  const double lse = n * static_cast<double>(model.q_heads) * 4.0;
  const double out_fp32 = q * 4.0 / b;
  const double u = static_cast<double>(in.strategy.ulysses);
  // Forward: Q, K, V, out, LSE and the K/V buffers; the ring merges out/LSE in fp32.
  const double forward = q + kv + q + lse + kv_buffers + (ring ? out_fp32 : 0.0);
  if (!backward) return forward / u;
  // Backward: saved Q, K, V, out, LSE, plus dout and the K/V buffers again; the ring keeps dQ and dK/dV in
  // fp32 with one dK/dV block in flight; the others materialise full-length dK/dV before returning it.
  const double dkv32 = dkv_shard_bytes_fp32(plan);
  const double grads = ring ? out_fp32 + dkv32 + 2.0 * dkv32 : q + kv_buffers;
  // With Ulysses every tensor above holds q_heads / U (or kv_heads / U) heads of U times the tokens: the
  // same bytes per plan rank, spread over its U GPUs.
  return std::max(forward, q + kv + q + lse + q + kv_buffers + grads) / u;
}

}  // namespace cpsim
