// What every executor does once its ranks' results are in: restore them to original order, check them against
// the single-device fp64 reference computed on the CPU (from the inputs at the precision the kernels saw;
// at sampled positions where the whole reference would take too long), and build MEASURED.json's content.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/faults.h"
#include "backend/inputs.h"
#include "backend/rank_program.h"
#include "core/measurement.h"
#include "core/plan.h"

namespace cpsim {

struct Verification {
  double max_abs_error = 0;
  double max_rel_error = 0;  // max_abs_error over the largest reference magnitude
  double tolerance = 0;
  bool passed = false;
};

// The largest absolute error of some values against their reference, and the largest reference magnitude.
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

// How an executor's output is checked.
struct ReferenceCheck {
  InputPrecision inputs = InputPrecision::kFp32;  // what the kernels were fed
  double output_tolerance = 1e-5;
  // Above this many multiply-adds a row's reference is computed at sampled positions only; 0: every position.
  double max_reference_macs = 0;
};
// fp32 compute against fp64: max absolute error 1e-5, every position.
ReferenceCheck cpu_reference_check();
// bf16 tensor-core kernels: inputs rounded to bf16 as the GPU saw them, PyTorch's bf16 ring-attention tolerance
// (atol 8e-3 x W), and about 2e10 multiply-adds per row at most (seconds on a GPU machine's cores).
ReferenceCheck gpu_reference_check(std::int64_t world_size);

// What the fp64 reference of the CPU check (cpu_reference_check: every position) costs, in core-nanoseconds per
// useful (q, k) pair, q head and head dim: forward (two fp64 multiply-adds, QK^T and PV, and a share of the exp)
// about 1 + d / 200, and with backward the gradients (five multiply-adds) 1.9 times that more. CPU time of
// reference_attention and reference_gradients on the 2-core development machine, causal, 1,024 to 8,192 tokens:
//   head dim 32 (4 q heads):  forward 1.04 to 1.10, gradients 1.74 to 1.93 (1.6 to 1.75x forward)
//   head dim 64 (8 q heads):  forward 1.33 to 1.49, gradients 2.96 to 2.99 (2.0 to 2.25x)
//   head dim 128 (32 q heads): forward 1.66,        gradients 3.10 (1.9x)
// (longer rows of K/V fall out of cache); the form is within 25% of every one. CPU time, not wall time, so that the
// estimate is the same on a machine others load: it holds for a machine one has to oneself.
inline constexpr double kReferenceNsAtZeroDim = 1.0, kReferenceNsPerDim = 0.005, kReferenceGradientFactor = 1.9;
// Seconds the CPU executors' reference check of `plan` at `options`' shape takes on `cores` cores (the busiest
// core's share of every row).
double reference_seconds(const Plan& plan, const RankOptions& options, std::int64_t cores);

// The original positions of one row a check visits, ascending: every one when the row's reference costs at most
// `max_macs` (or max_macs is 0), else an even sample of every rank's slots, its first and last included.
std::vector<std::int64_t> checked_positions(const Plan& plan, std::size_t row, const AttentionShape& shape, double max_macs);

struct Checks {
  Verification output;                     // out and lse
  std::optional<Verification> gradients;  // dQ, dK, dV, when the backward pass ran
};
// Restores every rank's output (and after backward its dQ, and dK/dV of its own K/V shard) to original order
// and compares them with the fp64 references. Gradients are always checked at every position.
Checks verify_against_reference(const Plan& plan, const RankOptions& options, const std::vector<RankRun>& runs,
                                const ReferenceCheck& check = cpu_reference_check());

// Who ran a measurement, as MEASURED.json records it.
struct RunIdentity {
  std::string executor;  // the Executor's name()
  DeviceKind device_kind = DeviceKind::kCpu;
  std::string device;  // "cpu (8 threads on 2 cores)", "NVIDIA H100 80GB HBM3 (...)"
  std::string driver;
};

// Injects the result faults, verifies and assembles the measurement.
Measurement finish_run(const Plan& plan, const std::string& plan_path, const RankOptions& options, std::vector<RankRun> runs,
                       const Faults& faults, const ReferenceCheck& check, const RunIdentity& who);

}  // namespace cpsim
