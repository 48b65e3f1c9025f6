// Schedules: the ops each strategy runs, in the order PyTorch issues them (reference/pytorch-cp.md §4-§5),
// with durations from the cost model and the topology.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/plan.h"
#include "sim/cost_model.h"
#include "sim/engine.h"
#include "sim/strategy.h"
#include "sim/topology.h"

namespace cpsim {

// One ring step's kernel call on one rank, and how many query rows it merges into the running output.
struct StepKernel {
  KernelWork work;
  std::int64_t merge_rows = 0;
};

// Per (rank, step), index rank * W + step, for the ring paths: the SDPA ring follows
// _is_causal_behavior (skip, causal, full, head-tail halves); the sparse ring runs the plan's tiles.
std::vector<StepKernel> ring_step_kernels(const Plan& plan, AttentionPath path);

// Bytes of one rank's K and V shard in the input dtype, and of its dK/dV in fp32 (all heads).
double kv_shard_bytes(const Plan& plan);
double dkv_shard_bytes_fp32(const Plan& plan);

// `cost` must be built for the heads one rank computes (q_heads / U, kv_heads / U) and `topology` with
// stride U; the schedule adds Ulysses' all-to-alls around the plan's own communication when U > 1.
// `kv_demand`: kv_demand_tokens(plan) when the caller has it (sparse_gather needs it; computed when empty).
// `gather_stages`: sparse_gather only, how many parts each rank's remote K/V arrives in (1 to W - 1).
std::vector<Op> build_schedule(const Plan& plan, const Strategy& strategy, const CostModel& cost, const Topology& topology,
                               bool backward, const std::vector<std::int64_t>& kv_demand = {},
                               std::int64_t gather_stages = 1);

// The most stages simulate() tries for sparse_gather (it keeps the fastest; ties go to fewer stages).
inline constexpr std::int64_t kMaxGatherStages = 4;
// The most stages a sparse gather over W ranks can have (one per other rank), and how many simulate() tries.
inline std::int64_t gather_stage_limit(std::int64_t world_size) { return world_size > 1 ? world_size - 1 : 1; }
inline std::int64_t gather_stages_tried(std::int64_t world_size) { return std::min(gather_stage_limit(world_size), kMaxGatherStages); }

}  // namespace cpsim
