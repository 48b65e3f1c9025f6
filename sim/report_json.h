// The machine-readable forms of a comparison, a simulation and its explanation: what `compare --json` and
// `simulate --json` print and what the Python module returns, written once here so the two cannot drift.
#pragma once

#include <cstdint>
#include <string>

#include "core/json_fields.h"
#include "core/plan.h"
#include "sim/compare.h"
#include "sim/explain.h"
#include "sim/hardware.h"
#include "sim/simulate.h"

namespace cpsim {

// {"points", "median", "p90", "command"}: the profile's error on published measurements, or null.
Json model_error_json(const HardwareProfile& hw);

Json explanation_json(const Explanation& e);

// One simulated plan: strategy, metrics, who runs it, the explanation, the model error and per-rank times.
Json simulation_json(const Simulation& sim, const Plan& plan, const HardwareProfile& hw);

// What was compared (names as the user gave them) beside the ranking.
struct CompareContext {
  std::string workload;        // the workload's file (or "" in process)
  std::int64_t world_size = 0;
  std::string hardware;        // the profile as the user named it
  bool backward = false;
  std::string runtime_filter = "any";
};

// Ranked and invalid candidates with their metrics and runtimes, the best per runtime, the ties and the why.
Json comparison_json(const Comparison& c, const CompareContext& context, const HardwareProfile& hw);

}  // namespace cpsim
