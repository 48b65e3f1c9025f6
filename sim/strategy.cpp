// Names of paths and rotate methods, and the rules of reference/pytorch-cp.md §2-§6 for which
// combinations PyTorch (and cpsim's sparse ring) can run.
#include "sim/strategy.h"

namespace cpsim {
namespace {

constexpr AttentionPath kAllPaths[] = {AttentionPath::kSdpaRing, AttentionPath::kFlexAllgather, AttentionPath::kSparseRing,
                                       AttentionPath::kSparseGather};

}  // namespace

std::string_view path_name(AttentionPath path) {
  switch (path) {
    case AttentionPath::kSdpaRing: return "sdpa_ring";
    case AttentionPath::kFlexAllgather: return "flex_allgather";
    case AttentionPath::kSparseRing: return "sparse_ring";
    case AttentionPath::kSparseGather: return "sparse_gather";
  }
  return "unknown";
}

std::string_view rotate_name(RotateMethod rotate) { return rotate == RotateMethod::kAllGather ? "allgather" : "alltoall"; }

std::optional<AttentionPath> parse_path(std::string_view name) {
  for (const auto p : kAllPaths) {
    if (path_name(p) == name) return p;
  }
  return std::nullopt;
}

std::string path_names() {
  std::string out;
  for (const auto p : kAllPaths) out += (out.empty() ? "" : ", ") + std::string(path_name(p));
  return out;
}

std::optional<RotateMethod> parse_rotate(std::string_view name) {
  for (const auto r : {RotateMethod::kAllGather, RotateMethod::kAllToAll}) {
    if (rotate_name(r) == name) return r;
  }
  return std::nullopt;
}

std::string strategy_name(const Strategy& s) {
  const std::string base = std::string(path_name(s.path)) + "/" + std::string(rotate_name(s.rotate));
  return s.ulysses > 1 ? "ulysses" + std::to_string(s.ulysses) + " x " + base : base;
}

std::vector<Strategy> all_strategies() {
  return {{AttentionPath::kSdpaRing, RotateMethod::kAllGather},
          {AttentionPath::kSdpaRing, RotateMethod::kAllToAll},
          {AttentionPath::kFlexAllgather, RotateMethod::kAllGather},
          {AttentionPath::kSparseRing, RotateMethod::kAllToAll},
          {AttentionPath::kSparseGather, RotateMethod::kAllGather}};
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

std::optional<std::string> unsupported_reason(const Plan& plan, const Strategy& s) {
  const MaskKind mask = plan.workload.mask.kind;
  const ModelShape& model = plan.workload.model;
  if (s.ulysses < 1) return "the Ulysses degree must be at least 1";
  if (s.ulysses > 1 && (model.kv_heads % s.ulysses != 0 || model.q_heads % s.ulysses != 0)) {
    return "Ulysses degree " + std::to_string(s.ulysses) + " must divide kv_heads " + std::to_string(model.kv_heads) +
           " and q_heads " + std::to_string(model.q_heads);
  }
  switch (s.path) {
    case AttentionPath::kSdpaRing:
      if (mask != MaskKind::kCausal && mask != MaskKind::kFull) {
        return "SDPA CP takes only is_causal True/False (attn_mask raises NotImplementedError); " +
               std::string(mask_kind_name(mask)) + " needs flex_allgather, sparse_ring or sparse_gather";
      }
      if (plan.balancer != "contiguous" && plan.balancer != "head_tail") {
        return "the SDPA ring's halving assumes the global head-tail layout; " + plan.balancer + " is for FlexAttention";
      }
      if (mask == MaskKind::kFull && plan.balancer == "head_tail") {
        return "PyTorch raises RuntimeError: load balancing requires is_causal=True";
      }
      return std::nullopt;
    case AttentionPath::kFlexAllgather: {
      if (s.rotate != RotateMethod::kAllGather) return "FlexAttention CP only all-gathers K/V (no alltoall)";
      const std::int64_t w = plan.world_size;
      if (plan.workload.seq_len % (w * 128) != 0) {
        return "PyTorch raises NotImplementedError: Q_LEN " + std::to_string(plan.workload.seq_len) +
               " is not divisible by world size " + std::to_string(w) + " * BLOCK_SIZE 128";
      }
      if (plan.block_size != 128) return "FlexAttention CP fixes the block size at 128, not " + std::to_string(plan.block_size);
      return std::nullopt;
    }
    case AttentionPath::kSparseRing:
      if (s.rotate != RotateMethod::kAllToAll) return "the sparse ring rotates K/V hop by hop (alltoall); all-gathered K/V is flex_allgather";
      return std::nullopt;
    case AttentionPath::kSparseGather:
      if (s.rotate != RotateMethod::kAllGather) return "the sparse gather moves all needed K/V before the kernel (allgather); hop by hop is sparse_ring";
      return std::nullopt;
  }
  return "unknown path";
}

AttentionPath default_path(const Plan& plan, RotateMethod rotate) {
  if (!unsupported_reason(plan, {AttentionPath::kSdpaRing, rotate})) return AttentionPath::kSdpaRing;
  return rotate == RotateMethod::kAllGather ? AttentionPath::kFlexAllgather : AttentionPath::kSparseRing;
}

}  // namespace cpsim
