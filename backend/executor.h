// `cpsim execute`: run a plan for real and check it. The CPU executor runs ranks as threads; under
// mpirun each process is one rank (MPI executor); the CUDA executor runs the kernels on a GPU.
// All of them verify the restored output against a single-device fp64 reference.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backend/rank_program.h"
#include "core/measurement.h"
#include "core/plan.h"

namespace cpsim {

struct ExecuteOptions {
  std::string device = "cpu";
  std::optional<std::int64_t> q_heads, kv_heads, head_dim;  // override the plan's model (smaller runs)
  std::string rotate;                                       // override the plan's rotate method
  std::uint64_t seed = 1;
  bool backward = false;  // also run and check the backward pass (dQ, dK, dV)
  double timeout_s = 60;
  std::int64_t stall_rank = -1;  // tests only: make one rank fail (stall_ms < 0) or stall
  std::int64_t stall_ms = 0;
  bool perturb_output = false;   // tests only: corrupt one output element so verification must fail
  bool perturb_gradient = false; // tests only: corrupt one dK element so the backward check must fail
  // Called about twice a second while ranks run (done, total steps), and once with done = total before the
  // reference check; for progress on a terminal.
  std::function<void(std::int64_t done, std::int64_t total)> progress;
};

// The shape and rotate method a run uses, with the overrides checked (exit 2 on bad values).
Result<RankOptions> rank_options(const Plan& plan, const ExecuteOptions& options);

struct Verification {
  double max_abs_error = 0;
  double max_rel_error = 0;  // max_abs_error over the largest reference magnitude
  double tolerance = 0;
  bool passed = false;
};
// The largest absolute error of some values against their reference, and the largest reference magnitude;
// every executor's verification adds to one and reads its verdict.
struct ErrorTally {
  double max_abs_error = 0;
  double largest = 0;
  void add(double want, double have) {
    add_error_only(want, have);
    largest = std::max(largest, std::fabs(want));
  }
  // Counts the error but not the magnitude (the lse: checked, but not a scale for the relative error).
  void add_error_only(double want, double have) {
    max_abs_error = std::max(max_abs_error, std::isfinite(have) ? std::fabs(have - want) : 1e30);
  }
  template <typename Want, typename Have>
  void add_all(const Want& want, std::size_t want_at, const Have& have, std::size_t have_at, std::size_t count) {
    for (std::size_t x = 0; x < count; ++x) add(want[want_at + x], have[have_at + x]);
  }
  Verification verdict(double tolerance) const {
    Verification v;
    v.max_abs_error = max_abs_error;
    v.max_rel_error = largest > 0 ? max_abs_error / largest : max_abs_error;
    v.tolerance = tolerance;
    v.passed = max_abs_error <= tolerance;
    return v;
  }
};

struct Checks {
  Verification output;                     // out and lse
  std::optional<Verification> gradients;  // dQ, dK, dV, when the backward pass ran
};
// Restores every rank's output (and after backward its dQ, and dK/dV of its own K/V shard) to original order
// and compares them with the fp64 references, computed once per row for both checks.
Checks verify_against_reference(const Plan& plan, const RankOptions& options, const std::vector<RankRun>& runs);

// Steps the progress callback counts: W per rank and pass.
inline std::int64_t progress_steps(const Plan& plan, const RankOptions& options) {
  return plan.world_size * plan.world_size * (options.backward ? 2 : 1);
}

// Builds MEASURED.json's content from the ranks' timings and the verification (`gradients`: the
// backward check, when the backward pass ran).
Measurement make_measurement(const Plan& plan, const std::string& plan_path, const RankOptions& options,
                             const std::vector<RankRun>& runs, const Verification& check, const std::string& executor,
                             const std::string& device, const std::optional<Verification>& gradients = std::nullopt);

// Ranks as threads of this process.
Result<Measurement> execute_with_threads(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options);

}  // namespace cpsim
