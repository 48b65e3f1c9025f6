// Strategies: which PyTorch machinery (attention path) runs a plan and how K/V move (rotate method),
// with the rules for which combinations exist.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/plan.h"

namespace cpsim {

enum class AttentionPath {
  kSdpaRing,       // PyTorch's SDPA ring: causal or full masks, head-tail or no balancer
  kFlexAllgather,  // PyTorch's FlexAttention CP: K/V all-gathered, any mask and balancer
  kSparseRing,     // ours: the all-to-all ring with block-sparse work per step, any mask and balancer
};

enum class RotateMethod { kAllGather, kAllToAll };

struct Strategy {
  AttentionPath path = AttentionPath::kFlexAllgather;
  RotateMethod rotate = RotateMethod::kAllGather;
};

std::string_view path_name(AttentionPath path);
std::string_view rotate_name(RotateMethod rotate);
std::optional<AttentionPath> parse_path(std::string_view name);
std::optional<RotateMethod> parse_rotate(std::string_view name);
std::string strategy_name(const Strategy& s);  // "sdpa_ring/alltoall"

// The (path, rotate) pairs that exist (flex only all-gathers; the sparse ring only rotates), in the
// order compare lists them.
std::vector<Strategy> all_strategies();

// The SDPA ring where PyTorch can run the plan; otherwise the path that matches the rotate method.
AttentionPath default_path(const Plan& plan, RotateMethod rotate);

// Why `strategy` cannot run `plan` (what PyTorch would do), or nothing when it can.
std::optional<std::string> unsupported_reason(const Plan& plan, const Strategy& strategy);

}  // namespace cpsim
