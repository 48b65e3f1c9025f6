// The strategy a plan runs with: balancer, attention path, rotate method, Ulysses degree, the sparse
// gather's stages and the attention kernel, as one value. One text form (what compare prints and `plan --strategy` reads) and one
// JSON form (compare --json rows, PLAN.json, MEASURED.json, batch results), both parsed here only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_fields.h"
#include "result.h"

namespace cpsim {

// Which machinery computes attention. The first two are PyTorch's; the others are cpsim's.
enum class AttentionPath {
  kSdpaRing,       // PyTorch's SDPA ring: causal or full masks, head-tail or no balancer
  kFlexAllgather,  // PyTorch's FlexAttention CP: K/V all-gathered, any mask and balancer
  kSparseRing,     // the all-to-all ring with block-sparse work per step, any mask and balancer
  kSparseGather,   // zero-redundancy gather: each rank receives only the K/V tokens its queries see
                   // (all-to-all-v, as MagiAttention and DCP move K/V), then block-sparse kernel calls
};

// How K/V reach the ranks (PyTorch's set_rotate_method): one all-gather, or ring shifts hop by hop.
enum class RotateMethod { kAllGather, kAllToAll };

const std::vector<AttentionPath>& all_paths();  // in the order compare lists them
std::string_view path_name(AttentionPath path);
std::optional<AttentionPath> parse_path(std::string_view name);
std::string path_names();  // "sdpa_ring, flex_allgather, ..." for messages
std::string_view rotate_name(RotateMethod rotate);
std::optional<RotateMethod> parse_rotate(std::string_view name);

struct Strategy {
  std::string balancer = "contiguous";
  AttentionPath path = AttentionPath::kFlexAllgather;
  RotateMethod rotate = RotateMethod::kAllGather;
  // Ulysses degree U (DeepSpeed-Ulysses: all-to-all from sequence to head shards inside a node). With U > 1
  // and a ring, a 2-D hybrid (USP, LoongTrain): the plan is the ring of W / U ranks, each standing for one
  // Ulysses group on q_heads / U heads. Pure Ulysses has no ring: its plan has one rank, so its balancer,
  // path and rotate method are fixed (contiguous, sparse_gather, allgather: one kernel, nothing to move).
  std::int64_t ulysses = 1;
  bool pure_ulysses = false;
  // sparse_gather only: the parts each rank's remote K/V arrives in (MagiAttention's multi-stage overlap).
  // 0 asks the simulator for the fastest of 1 to kMaxGatherStages; a simulated strategy always has its count.
  std::int64_t gather_stages = 0;
  // The attention kernel, by its name in the hardware profile (fa2, cudnn, fa3, flex, cpsim, ...). Empty: the path's
  // default on the profile (the first of its kernels the path accepts); a simulated strategy always names it.
  std::string kernel;

  bool operator==(const Strategy&) const = default;

  static Strategy pure(std::int64_t ulysses_degree);
  // The ranks of the plan this strategy runs at world size W (GPUs): W / U, or 1 for pure Ulysses.
  std::int64_t plan_world_size(std::int64_t world_size) const { return pure_ulysses ? 1 : world_size / ulysses; }
  // The same strategy with the stage count left to the simulator (what compare and `plan --strategy` try).
  Strategy with_stages(std::int64_t stages) const;
};

// The checks on W against a strategy's Ulysses groups: pure Ulysses needs W == U, a hybrid a multiple of U.
Status check_strategy_world_size(const Strategy& s, std::int64_t world_size);

// Text form: "ulysses8[ on KERNEL]" (pure Ulysses), or "BALANCER + [ulyssesU x ]PATH/ROTATE[ on KERNEL][ (N stages)]",
// e.g. "head_tail + sdpa_ring/alltoall on fa2", "ptrr + ulysses4 x sparse_gather/allgather on flex (2 stages)". A
// sparse gather without a stage count is one stage, and a strategy without a kernel runs the path's default, so
// the text of every simulated strategy reads back to the same value.
std::string strategy_text(const Strategy& s);
// The ring part alone, as compare's path column shows it: "ulysses4 x sparse_ring/alltoall on flex", "ulysses8 on flex".
std::string path_text(const Strategy& s);
// Parses the text form; `field` names the input in errors ("--strategy", "plan.json: strategy.text").
// Checks names and the combination's syntax; whether it can run a plan is the simulator's question.
Result<Strategy> parse_strategy_text(std::string_view text, const std::string& field);

// JSON form: {"text": ..., "balancer": ..., "path": ..., "rotate": ..., "ulysses": U, "pure_ulysses": bool,
// "gather_stages": N, "kernel": NAME}. The text is there for people; on reading it must agree with the fields.
// "kernel" may be absent (files written before kernels were named: the path's default).
Json strategy_to_json(const Strategy& s);
Result<Strategy> strategy_from_json(const Json& value, const FieldReader& reader, const std::string& field);

}  // namespace cpsim
