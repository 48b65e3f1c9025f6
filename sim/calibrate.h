// Calibration: fits a profile's kernel constants (per kernel, pass and head dim: efficiency, cost per CTA and per
// partial tile; launch per kernel and pass) and its links' curves (floor, latency and bandwidth per kind of
// communication) to samples in the simulator's own form (kernel_shape and kernel_time_us in sim/cost_model.h,
// OpCurve::time_us in sim/hardware.h), by least squares on relative errors (sim/least_squares.h), and writes them
// into a profile. Samples come from MEASURED.json files (cpsim execute, scripts/gpu-check.sh) or from the fit
// split of published measurements (sim/validation.h). A constant the samples do not determine keeps its value
// and its source, so that fitting a fitted profile again changes nothing.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/json_fields.h"
#include "core/measurement.h"
#include "sim/cost_model.h"
#include "sim/hardware.h"

namespace cpsim {

struct KernelSample {
  std::string kernel;
  bool backward = false;
  std::int64_t head_dim = 128;
  KernelShape shape;  // at the kernel's tile, from the starting profile
  double measured_us = 0;
  // Where it was measured, for the diagnostics: a MEASURED.json and its (rank, step), or a published point.
  std::string origin = {};
  std::int64_t rank = -1, step = -1;
};

struct CommSample {
  CommOp op = CommOp::kP2p;
  double bus_bytes = 0;
  double steps = 1;  // W - 1 for the ring collectives
  double measured_us = 0;
  std::string origin = {};  // as KernelSample's
  std::int64_t rank = -1, step = -1;
};

// What a fit set, and how well the constants before and after reproduce the samples.
struct FittedValue {
  double value = 0;
  bool fitted = false;  // determined by the samples (otherwise kept as it was, unless `taken_from` says whence)
  std::string taken_from;  // not fitted but set from another fitted constant (backward's partial cost: forward's)
  double start = 0;           // the starting profile's value
  double standard_error = 0;  // from the samples (infinite where they cannot tell it from another); 0 when not an unknown
  double influence = 0;       // FitResult::influence: how much of it the samples see; 0 when not an unknown
};

// A sample the fitted constants reproduce badly.
struct WorstSample {
  std::string origin;  // KernelSample::origin
  std::int64_t rank = -1, step = -1;
  double error = 0;    // (predicted - measured) / measured, with the fitted constants
};

// How well one fitted group's samples determine its unknowns.
struct FitQuality {
  std::size_t unknowns = 0;
  // Of the fitted constants' scaled Jacobian at the solution (FitResult::condition over those the fit moved; the
  // others are held at their starting values); infinite when singular, 0 when nothing was fitted.
  double condition = 0;
  std::vector<std::string> weakest;  // the fitted constants of its least determined direction
  double worst_relative_error = 0;   // the largest standard error of a fitted constant over its value
  std::string worst_relative_name;
  std::vector<WorstSample> worst;    // up to 3, the worst first
};

// Something about a fit a user should know before trusting its profile. `cpsim calibrate --strict` refuses a fit
// with any. In order of importance, which is the order of Calibration::warnings.
enum class WarningKind {
  kDevice,          // the samples ran on another kind of device than the starting profile describes
  kFewSamples,      // a group has fewer samples than unknowns
  kPoorFit,         // the fitted constants leave a large error on the samples (the model cannot follow them)
  kFarFromStart,    // a fitted constant far from its starting value, or past what any kernel does
  kIllConditioned,  // the constants a group fitted trade off, or are known loosely (FitQuality)
  kNotDetermined,   // a constant the samples do not determine: kept at its starting value
};
struct CalibrationWarning {
  WarningKind kind = WarningKind::kNotDetermined;
  std::string field;     // in the profile: kernels.cpu.forward.launch_us, links.nvlink.p2p, ...
  std::string group;     // the fit it is about: "cpu forward", "cpu forward head dim 128", "nvlink p2p" (or empty)
  std::string constant;  // "launch_us", "partial_tile_cost", ... (empty for a group's warning)
  std::string detail;    // the numbers: "kept at 1 us", "fitted 148 us, 148x its starting 1 us, above 100 us", "3 for 4 unknowns"
  std::string advice;    // which measurements would determine it
  // One line: the group, the constant with its fitted and starting values, and what would determine it.
  std::string text() const;
  std::string message() const { return group.empty() ? text() : group + ": " + text(); }
};

struct FittedHeadDim {
  std::int64_t head_dim = 0;  // one of kKernelHeadDims: samples go to the nearest
  std::size_t samples = 0;
  FittedValue efficiency, cta_overhead_tiles, partial_tile_cost;
  double rms_after = 0;  // relative error over this head dim's samples
};

struct FittedKernelPass {
  std::string kernel;
  bool backward = false;
  std::size_t samples = 0;
  FittedValue launch_us;
  std::vector<FittedHeadDim> head_dims;
  double rms_before = 0, rms_after = 0;  // relative error over the samples
  double median_after = 0;
  FitQuality quality;
};

struct FittedComm {
  CommOp op = CommOp::kP2p;
  std::size_t samples = 0;
  FittedValue floor_us, latency_us, busbw_gb_s;
  double rms_before = 0, rms_after = 0;
  FitQuality quality;
};

struct Calibration {
  std::vector<FittedKernelPass> kernels;
  std::vector<FittedComm> comm;  // nvlink's curves
  std::string comm_note;         // why no link was fitted, when none was
  DeviceKind device_kind = DeviceKind::kGpu;  // of the samples: the calibrated profile describes that device
  std::vector<CalibrationWarning> warnings;   // by WarningKind, then in the order of the groups above
  // Constants the samples do not determine but hardly see either (kNotDetermined, under kNegligibleInfluence of every
  // sample's predicted time): kept, which is what they should be; no warning.
  std::vector<CalibrationWarning> notes;
};

// Bounds past which a fitted kernel constant is doubtful whatever the starting profile says: no attention kernel
// launch takes 100 us (H100 launches are 2 to 10 us, a CPU call 1 us), and a partial tile costs between a quarter
// of a full one (a CPU skipping most masked pairs: measured 0.43 to 0.46) and 4 (masking on tensor cores: 1.1 to 1.6).
inline constexpr double kMaxPlausibleLaunchUs = 100;
inline constexpr double kMinPlausiblePartialCost = 0.25, kMaxPlausiblePartialCost = 4;
// A fitted constant more than this factor from its starting value is flagged: starting profiles are within 2x of
// the devices they describe, so a factor of 3 says the samples or the starting profile are wrong.
inline constexpr double kFarFromStartFactor = 3;
// A fit is ill-conditioned when the constants it moved trade off: the condition number of their scaled Jacobian is
// above kIllConditioned (with relative errors of a few percent over tens of samples, a standard error of about
// condition x 2% / sqrt(samples)), or one of them is known to no better than kLooseRelativeError.
inline constexpr double kIllConditioned = 1e3;
inline constexpr double kLooseRelativeError = 0.25;
// A constant the samples do not determine is a warning only where it matters to them: where it (or its scale, when
// smaller) makes kNegligibleInfluence or more of some sample's predicted time (a 1 us launch beside 1 ms calls does not).
inline constexpr double kNegligibleInfluence = 0.05;
// A fit that leaves more RMS relative error than this does not describe its samples: the published fits leave 0.2 to
// 7%, CPU runs on an idle machine about 5%; past 20% the times are noisy (a loaded machine, more threads than cores)
// or the model cannot follow them.
inline constexpr double kPoorFitRms = 0.2;

// Fits every (kernel, pass) and communication kind that has samples, and reviews the fit (Calibration::warnings).
// `where` names the samples in errors.
Result<Calibration> fit_samples(const std::vector<KernelSample>& kernels, const std::vector<CommSample>& comm, const HardwareProfile& start,
                                const std::string& where);

// The samples of MEASURED.json files (each step's tiles as its kernel's shape, each step's communication as the
// kind its strategy issues), fitted. Fails (exit 2) without a compute sample, on mixed device kinds, or on a
// kernel the profile lacks. `names` (optional, one per measurement) name them in errors.
Result<Calibration> calibrate(const std::vector<Measurement>& measurements, const HardwareProfile& profile,
                              const std::vector<std::string>& names = {});

// The input profile file with the fitted numbers and their provenance written in (a profile that took its
// kernels from another lists them itself afterwards).
Result<Json> calibrated_profile_json(const HardwareProfile& profile, const Calibration& c, const std::string& name,
                                     const std::string& provenance);

}  // namespace cpsim
