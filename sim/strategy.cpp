// Names of paths and rotate methods, and the rules of reference/pytorch-cp.md §2-§6 for which
// combinations PyTorch (and cpsim's sparse ring) can run.
#include "sim/strategy.h"

namespace cpsim {

std::string_view path_name(AttentionPath path) {
  switch (path) {
    case AttentionPath::kSdpaRing: return "sdpa_ring";
    case AttentionPath::kFlexAllgather: return "flex_allgather";
    case AttentionPath::kSparseRing: return "sparse_ring";
  }
  return "unknown";
}

std::string_view rotate_name(RotateMethod rotate) { return rotate == RotateMethod::kAllGather ? "allgather" : "alltoall"; }

std::optional<AttentionPath> parse_path(std::string_view name) {
  for (const auto p : {AttentionPath::kSdpaRing, AttentionPath::kFlexAllgather, AttentionPath::kSparseRing}) {
    if (path_name(p) == name) return p;
  }
  return std::nullopt;
}

std::optional<RotateMethod> parse_rotate(std::string_view name) {
  for (const auto r : {RotateMethod::kAllGather, RotateMethod::kAllToAll}) {
    if (rotate_name(r) == name) return r;
  }
  return std::nullopt;
}

std::string strategy_name(const Strategy& s) { return std::string(path_name(s.path)) + "/" + std::string(rotate_name(s.rotate)); }

std::vector<Strategy> all_strategies() {
  return {{AttentionPath::kSdpaRing, RotateMethod::kAllGather},
          {AttentionPath::kSdpaRing, RotateMethod::kAllToAll},
          {AttentionPath::kFlexAllgather, RotateMethod::kAllGather},
          {AttentionPath::kSparseRing, RotateMethod::kAllToAll}};
}

std::optional<std::string> unsupported_reason(const Plan& plan, const Strategy& s) {
  const MaskKind mask = plan.workload.mask.kind;
  switch (s.path) {
    case AttentionPath::kSdpaRing:
      if (mask != MaskKind::kCausal && mask != MaskKind::kFull) {
        return "SDPA CP takes only is_causal True/False (attn_mask raises NotImplementedError); " +
               std::string(mask_kind_name(mask)) + " needs flex_allgather or sparse_ring";
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
  }
  return "unknown path";
}

AttentionPath default_path(const Plan& plan, RotateMethod rotate) {
  if (!unsupported_reason(plan, {AttentionPath::kSdpaRing, rotate})) return AttentionPath::kSdpaRing;
  return rotate == RotateMethod::kAllGather ? AttentionPath::kFlexAllgather : AttentionPath::kSparseRing;
}

}  // namespace cpsim
