// K/V demand: which K/V tokens each rank's queries can see. A zero-redundancy exchange (sparse_gather) moves
// exactly these tokens: the simulator counts them per (rank, source); the executors send them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/mask.h"
#include "core/plan.h"

namespace cpsim {

// One batch row: per rank, the keys its queries can see, as disjoint ascending intervals of positions.
std::vector<std::vector<KeyInterval>> visible_keys(const Plan& plan, std::size_t row);

// Tokens, summed over batch rows, at index rank * W + source (the diagonal is the rank's own K/V).
std::vector<std::int64_t> kv_demand_tokens(const Plan& plan);

// The most K/V tokens one rank needs, its own included (the size of its largest gathered K/V buffer).
std::int64_t most_needed_tokens(const std::vector<std::int64_t>& demand, std::int64_t world_size);

// The positions held by `source` inside `keys` (one rank's visible_keys), ascending.
std::vector<std::int64_t> positions_held(const RowLayout& layout, const std::vector<KeyInterval>& keys, std::int64_t source);

}  // namespace cpsim
