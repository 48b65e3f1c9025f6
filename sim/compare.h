// Compare: every balancer under every strategy for one workload and hardware profile, ranked by
// predicted step time, with the combinations that cannot run and why, and a one-line reason for the winner.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/workload.h"
#include "sim/simulate.h"

namespace cpsim {

struct Candidate {
  std::string balancer;
  Strategy strategy;
  bool valid = false;
  std::string reason;  // why it cannot run (when !valid)
  Metrics metrics;     // when valid
};

struct Comparison {
  std::vector<Candidate> ranked;   // valid, fastest first (ties: registry order)
  std::vector<Candidate> invalid;  // in registry order
  std::string why;                 // one line on the winner
};

// `cancelled`, when given, is polled between combinations; a cancelled run returns an error.
Result<Comparison> compare_strategies(const Workload& workload, const std::string& source, std::int64_t world_size,
                                      std::int64_t block_size, const HardwareProfile& profile, bool backward,
                                      const std::function<bool()>& cancelled = nullptr);

// The ranking as CSV: valid combinations first (rank 1 = fastest), then the ones that cannot run.
std::string comparison_csv(const Comparison& comparison);

}  // namespace cpsim
