// Ulysses' all-to-alls around a path's ops, and the degrees a model and a node allow.
#include "sim/ulysses.h"

#include <string>

namespace cpsim {

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

std::optional<std::string> ulysses_unsupported_reason(std::int64_t w, const ModelShape& m, std::int64_t gpus_per_node) {
  if (m.kv_heads % w != 0 || m.q_heads % w != 0) {
    return "Ulysses shards heads: " + std::to_string(w) + " ranks must divide kv_heads " + std::to_string(m.kv_heads) +
           " and q_heads " + std::to_string(m.q_heads);
  }
  if (gpus_per_node % w != 0) {
    return "Ulysses' all-to-all runs inside a node: " + std::to_string(w) + " ranks must divide the " +
           std::to_string(gpus_per_node) + " GPUs per node";
  }
  return std::nullopt;
}

std::int64_t hybrid_ulysses_degree(std::int64_t w, const ModelShape& m, std::int64_t gpus_per_node) {
  for (std::int64_t u = w - 1; u > 1; --u) {
    if (w % u == 0 && !ulysses_unsupported_reason(u, m, gpus_per_node)) return u;
  }
  return 1;
}

}  // namespace cpsim
