// K/V demand: for every (rank, source) pair, how many of the source's K/V tokens at least one query of the
// rank can see. A zero-redundancy exchange (sparse_gather) moves exactly these tokens and nothing else.
#pragma once

#include <cstdint>
#include <vector>

#include "core/plan.h"

namespace cpsim {

// Tokens, summed over batch rows, at index rank * W + source (the diagonal is the rank's own K/V).
std::vector<std::int64_t> kv_demand_tokens(const Plan& plan);

// The most K/V tokens one rank needs, its own included (the size of its largest gathered K/V buffer).
std::int64_t most_needed_tokens(const std::vector<std::int64_t>& demand, std::int64_t world_size);

}  // namespace cpsim
