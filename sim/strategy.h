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
  kSparseGather,   // ours: zero-redundancy gather: each rank receives only the K/V tokens its queries see
                   // (all-to-all-v, as MagiAttention and DCP move K/V), then one block-sparse kernel call
};

enum class RotateMethod { kAllGather, kAllToAll };

struct Strategy {
  AttentionPath path = AttentionPath::kFlexAllgather;
  RotateMethod rotate = RotateMethod::kAllGather;
  // Ulysses degree U (DeepSpeed-Ulysses: all-to-all from sequence to head shards inside a node). With U > 1
  // the plan is the ring dimension of a 2-D hybrid (USP, LoongTrain): W = U x the plan's world size, each
  // plan rank standing for one Ulysses group working on q_heads/U heads. A plan of world size 1 with
  // U = W is pure Ulysses.
  std::int64_t ulysses = 1;

  bool operator==(const Strategy& o) const { return path == o.path && rotate == o.rotate && ulysses == o.ulysses; }
  // The plan this strategy runs is made at W / U ranks.
  std::int64_t plan_world_size(std::int64_t world_size) const { return world_size / ulysses; }
};

std::string_view path_name(AttentionPath path);
std::string_view rotate_name(RotateMethod rotate);
std::optional<AttentionPath> parse_path(std::string_view name);
std::optional<RotateMethod> parse_rotate(std::string_view name);
std::string strategy_name(const Strategy& s);  // "sdpa_ring/alltoall", "ulysses4 x sparse_ring/alltoall", "ulysses8"
std::string path_names();                      // "sdpa_ring, flex_allgather, ..." for messages

// The (path, rotate) pairs that exist (flex and the sparse gather only gather; the sparse ring only
// rotates), in the order compare lists them; all with U = 1.
std::vector<Strategy> all_strategies();

// The Ulysses degree compare tries for a 2-D hybrid at world size W: the largest U < W that divides W,
// the kv heads (and q heads) and the GPUs per node (Ulysses' all-to-all stays on NVLink); 1 when none.
std::int64_t hybrid_ulysses_degree(std::int64_t world_size, const ModelShape& model, std::int64_t gpus_per_node);
// Why pure Ulysses at W ranks cannot run this model, or nothing when it can.
std::optional<std::string> ulysses_unsupported_reason(std::int64_t world_size, const ModelShape& model,
                                                      std::int64_t gpus_per_node);

// The SDPA ring where PyTorch can run the plan; otherwise the path that matches the rotate method.
AttentionPath default_path(const Plan& plan, RotateMethod rotate);

// Why `strategy` cannot run `plan` (what PyTorch would do), or nothing when it can.
std::optional<std::string> unsupported_reason(const Plan& plan, const Strategy& strategy);

}  // namespace cpsim
