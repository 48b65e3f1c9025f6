// Compare: every balancer under every strategy (and every kernel its path can call) for one workload and
// hardware profile, ranked by predicted step time, with the combinations that cannot run and why, a one-line
// reason for the winner, and the candidates within the profile's model error of it marked as ties.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/workload.h"
#include "sim/runtime.h"
#include "sim/simulate.h"

namespace cpsim {

struct Candidate {
  Strategy strategy;     // as simulated (a sparse gather with its stage count); pure Ulysses' balancer is "contiguous"
  bool pytorch = false;  // PyTorch as shipped: a PyTorch balancer on a path PyTorch ships (sdpa_ring, flex_allgather), no Ulysses
  RuntimeInfo runtime;   // who can run it today (pytorch, cpsim or simulated only)
  std::int64_t plan_world_size = 0;  // W / U: the ranks the balancer's plan is made for
  bool valid = false;
  std::string reason;  // why it cannot run (when !valid)
  Metrics metrics;     // when valid
  bool tie = false;    // within the profile's model error of #1 (and not #1)
};

struct Comparison {
  std::vector<Candidate> ranked;   // valid, fastest first (ties: registry order)
  std::vector<Candidate> invalid;  // in registry order
  std::string why;                 // one line on the winner
  // The profile's median |error| against published measurements (HardwareProfile::tie_error: its own, or that of the
  // profile its kernels come from), 0 when there is none: step times within that fraction of #1 are ties.
  double model_error = 0;
  std::size_t ties = 0;
  std::size_t filtered = 0;  // valid candidates left out by CompareScope::runtime
  // With CompareScope::keep_best_plan: ranked[0]'s plan with its simulation attached (what candidate_plan would make,
  // without balancing and simulating it a second time).
  std::optional<Plan> best_plan;
  // The fastest candidate `runtime` runs, or nullptr.
  const Candidate* best_on(Runtime runtime) const;
};

// What to compare: every registered balancer (or the named ones), each under every (path, rotate), then as
// the ring of a 2-D Ulysses x ring hybrid, and pure Ulysses once.
struct CompareScope {
  std::vector<std::string> balancers;  // empty: all
  bool ulysses = true;                 // include the Ulysses families
  std::string kernel;                  // only this kernel (paths that cannot call it are listed as such); empty: all
  std::optional<Runtime> runtime;      // only candidates this runtime runs (the others are counted, not listed)
  // The Ulysses degrees U of the hybrids (and W itself: pure Ulysses) to try; empty: the largest U < W that fits
  // (hybrid_ulysses_degree) and pure Ulysses. Degrees that do not divide W or the heads are skipped.
  std::vector<std::int64_t> ulysses_degrees;
  bool keep_best_plan = false;  // fill Comparison::best_plan (one plan per call that plans a batch online)
};

// `cancelled`, when given, is polled between combinations; a cancelled run returns an error.
Result<Comparison> compare_strategies(const Workload& workload, const std::string& source, std::int64_t world_size,
                                      std::int64_t block_size, const HardwareProfile& profile, bool backward,
                                      const std::function<bool()>& cancelled = nullptr, const CompareScope& scope = {});

// The plan of a compared candidate, with its simulation attached (what PLAN.json records): the balancer's plan at
// the candidate's ranks (W / U with Ulysses), simulated under its strategy.
Result<Plan> candidate_plan(const Workload& workload, const std::string& source, const Candidate& candidate, std::int64_t block_size,
                            const HardwareProfile& profile, bool backward);

// The ranking as CSV: valid combinations first (rank 1 = fastest), then the ones that cannot run; the last
// column is the strategy's text (what `plan --strategy` reads), `tie` is 1 within the model error of #1.
std::string comparison_csv(const Comparison& comparison);

}  // namespace cpsim
