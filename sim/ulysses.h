// Ulysses (DeepSpeed-Ulysses: all-to-all from sequence to head shards inside a node) around any path's ops,
// and which Ulysses degrees a model and a node allow.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/plan.h"
#include "sim/engine.h"
#include "sim/topology.h"

namespace cpsim {

// The plan's own ops (a path's schedule for q_heads / U heads) with Ulysses' all-to-alls around them: before
// attention each GPU swaps sequence shards for head shards of Q, K and V inside its group, after it swaps the
// output back; backward swaps dout in and dQ/dK/dV out. The ops keep their order; dependencies follow them.
std::vector<Op> with_ulysses(std::vector<Op> inner, const Plan& plan, std::int64_t ulysses, const Topology& topology);

// Why pure Ulysses at W ranks cannot run this model, or nothing when it can: W must divide the heads and
// the GPUs per node (Ulysses' all-to-all stays on NVLink).
std::optional<std::string> ulysses_unsupported_reason(std::int64_t world_size, const ModelShape& model, std::int64_t gpus_per_node);

// The Ulysses degree compare tries for a 2-D hybrid at world size W: the largest U < W that divides W and
// meets ulysses_unsupported_reason; 1 when none.
std::int64_t hybrid_ulysses_degree(std::int64_t world_size, const ModelShape& model, std::int64_t gpus_per_node);

}  // namespace cpsim
