// Simulating a plan under one strategy on one hardware profile: the timeline and the metrics users
// compare (step time, busy/idle, exposed communication, imbalance, memory, lower bound), and the one way a
// simulation is attached to a plan.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/json_fields.h"
#include "core/plan.h"
#include "core/strategy.h"
#include "sim/engine.h"
#include "sim/hardware.h"
#include "sim/runtime.h"
#include "sim/topology.h"

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
  Strategy strategy;  // as simulated: a sparse gather's stage count is the one chosen
  bool backward = false;
  Timeline timeline;
  Metrics metrics;
};

// The most stages simulate() tries for a sparse gather whose strategy leaves the count open (it keeps the
// fastest; ties go to fewer stages), and how many that is over W ranks.
inline constexpr std::int64_t kMaxGatherStages = 4;
std::int64_t gather_stages_tried(std::int64_t world_size);

// Simulates many strategies on one profile; topologies (one per world size and Ulysses stride) are built once.
class Simulator {
 public:
  explicit Simulator(HardwareProfile profile) : profile_(std::move(profile)) {}
  const HardwareProfile& profile() const { return profile_; }
  // Fails (exit 2) when the profile has fewer GPUs than `world_size` ranks at `stride` need.
  Result<const Topology*> topology(std::int64_t world_size, std::int64_t stride);
  // Fails (exit 2) when the strategy cannot run the plan or the profile has too few GPUs.
  Result<Simulation> run(const Plan& plan, const Strategy& strategy, bool backward);

 private:
  HardwareProfile profile_;
  std::map<std::pair<std::int64_t, std::int64_t>, Topology> topologies_;
};

Result<Simulation> simulate(const Plan& plan, const Strategy& strategy, const HardwareProfile& profile, bool backward);

// The strategy (valid for this plan, without Ulysses) with the lowest predicted step time, over every kernel each
// path can call, or only `kernel` when one is named, and only what `runtime` runs when one is given.
Result<Simulation> simulate_best(const Plan& plan, const HardwareProfile& profile, bool backward, const std::string& kernel = "",
                                 std::optional<Runtime> runtime = std::nullopt);

// The simulation a plan records (plan --out, the Python module): `strategy` when given (its kernel set from `kernel`
// when it names none; refused when it names another or cannot run the plan), else simulate_best.
Result<Simulation> simulate_for_plan(const Plan& plan, const std::optional<Strategy>& strategy, const HardwareProfile& profile,
                                     bool backward, const std::string& kernel = "", std::optional<Runtime> runtime = std::nullopt);

// What a plan file records of a simulation: the profile's device kind, step times and per-(rank, step)
// compute and communication.
Json predicted_json(const Simulation& sim, const HardwareProfile& profile);

// Records the simulated strategy, the profile and the prediction in the plan. The plan must be the one
// simulated (same balancer and world size).
void attach_simulation(Plan& plan, const Simulation& sim, const HardwareProfile& profile);

}  // namespace cpsim
