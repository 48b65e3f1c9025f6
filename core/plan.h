// A plan: a workload split over W ranks by one balancer, with its layouts (indices) and work account.
// The simulator adds rotate method, attention path and predicted times on top of this.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "balancer.h"
#include "json_fields.h"
#include "layout.h"
#include "strategy.h"
#include "work.h"
#include "workload.h"

namespace cpsim {

inline constexpr int kPlanSchemaVersion = 1;

struct Plan {
  Workload workload;
  std::string workload_source;  // the file it came from
  std::string balancer;
  std::int64_t world_size = 0;  // ranks of the layout (the ring dimension of a Ulysses hybrid)
  std::int64_t block_size = 128;
  std::vector<RowLayout> layouts;  // one per batch row
  WorkAccount work{1, 1, 0};
  // Set when a simulation is attached (attach_simulation in sim/): the whole strategy (its balancer is
  // `balancer`), the hardware profile it was predicted on and the predicted metrics (opaque to core).
  std::optional<Strategy> strategy;
  std::string hardware;
  Json predicted;
};

// The world sizes nearest `world_size` (the largest below and the smallest above, up to `max_world_size`) that every
// row can be split into (S % W == 0, W <= S): what an error about an invalid W suggests instead.
std::vector<std::int64_t> nearest_world_sizes(const Workload& workload, std::int64_t world_size, std::int64_t max_world_size);
// "; nearest that work: 4 and 8 (divisors of seq_len 131072 up to 64)", or "" when there are none or W itself
// splits the rows (then another W is not the cure).
std::string nearest_world_sizes_text(const Workload& workload, std::int64_t world_size, std::int64_t max_world_size);

// The checks on W every command shares: 1 <= W <= kMaxWorldSize and no more ranks than tokens.
Status check_world_size(std::int64_t world_size, const Workload& workload, const std::string& source);

// The checks on the block size T every command shares: 1 <= T <= kMaxBlockSize, and at most kMaxTiles
// non-empty tiles to account.
Status check_block_size(std::int64_t block_size, const Workload& workload, const std::string& source);

// Runs the balancer and the work accounting. Errors name the file, field and value.
Result<Plan> make_plan(const Workload& workload, const std::string& source, std::string_view balancer,
                       std::int64_t world_size, std::int64_t block_size);

// PLAN.json: schema_version, the workload (embedded, with its digest), world_size, balancer, block_size,
// with a strategy: the strategy (JSON form; its attention path, rotate method and Ulysses degree also on top,
// as PyTorch-side readers take them), hardware and predicted; rearrange_indices / restore_indices (one list
// per row, PyTorch's _generate_indices(restore=False/True)), per-rank and per-(rank, step) work.
std::string plan_to_json_text(const Plan& plan);
Status save_plan(const Plan& plan, const std::string& path);

// Reads PLAN.json back: checks the embedded workload, its digest, that the indices are permutations whose
// restore is their inverse and that they match the workload and world size; recomputes the work account.
Result<Plan> load_plan(const std::string& path);
// The same checks on a parsed document; `source` names it in errors.
Result<Plan> plan_from_json(const Json& doc, const std::string& source);

}  // namespace cpsim
