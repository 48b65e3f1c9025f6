// Simulating a plan under one strategy on one hardware profile: the timeline and the metrics users
// compare (step time, busy/idle, exposed communication, imbalance, memory, lower bound).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json_fields.h"
#include "core/plan.h"
#include "sim/engine.h"
#include "sim/hardware.h"
#include "sim/strategy.h"

namespace cpsim {

struct RankMetrics {
  double busy_us = 0;           // compute
  double idle_us = 0;           // step time minus compute
  double comm_us = 0;           // communication in flight
  double exposed_comm_us = 0;   // communication in flight while the rank computes nothing
  double peak_memory_bytes = 0;
};

struct Metrics {
  double forward_us = 0;
  double step_us = 0;            // forward, or forward + backward
  double lower_bound_us = 0;     // useful FLOPs spread perfectly at the kernel's best efficiency
  double ratio_to_lower_bound = 0;
  double compute_imbalance = 0;  // max/mean of busy time
  double max_exposed_comm_us = 0;
  double peak_memory_bytes = 0;  // the largest rank's
  double unused_hop_share = 0;   // ring: share of K/V hops delivered to a rank that computes nothing with them
  std::int64_t slowest_rank = 0;
  std::int64_t gather_stages = 0;  // sparse_gather: the parts each rank's remote K/V arrives in (the fastest tried)
  std::vector<RankMetrics> ranks;
};

struct Simulation {
  Strategy strategy;
  bool backward = false;
  Timeline timeline;
  Metrics metrics;
};

// Fails (exit 2) when the strategy cannot run the plan or the profile has too few GPUs. sparse_gather is
// simulated with `gather_stages` stages, or with 0 with each of 1 to kMaxGatherStages and the fastest kept.
Result<Simulation> simulate(const Plan& plan, const Strategy& strategy, const HardwareProfile& profile, bool backward,
                            std::int64_t gather_stages = 0);

// The strategy (valid for this plan) with the lowest predicted step time.
Result<Simulation> simulate_best(const Plan& plan, const HardwareProfile& profile, bool backward);

// What a plan file records of a simulation: step times and per-(rank, step) compute and communication.
Json predicted_json(const Simulation& sim);

// Peak bytes one rank holds for attention (inputs, outputs, K/V buffers, fp32 merge and gradient buffers).
// `kv_demand`: kv_demand_tokens(plan) when the caller has it (sparse_gather needs it; computed when empty).
double peak_memory_bytes(const Plan& plan, const Strategy& strategy, bool backward,
                         const std::vector<std::int64_t>& kv_demand = {});

}  // namespace cpsim
