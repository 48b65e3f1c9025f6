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
};

struct CommSample {
  CommOp op = CommOp::kP2p;
  double bus_bytes = 0;
  double steps = 1;  // W - 1 for the ring collectives
  double measured_us = 0;
};

// What a fit set, and how well the constants before and after reproduce the samples.
struct FittedValue {
  double value = 0;
  bool fitted = false;  // determined by the samples (otherwise kept as it was, unless `taken_from` says whence)
  std::string taken_from;  // not fitted but set from another fitted constant (backward's partial cost: forward's)
};

struct FittedHeadDim {
  std::int64_t head_dim = 0;  // one of kKernelHeadDims: samples go to the nearest
  std::size_t samples = 0;
  FittedValue efficiency, cta_overhead_tiles, partial_tile_cost;
};

struct FittedKernelPass {
  std::string kernel;
  bool backward = false;
  std::size_t samples = 0;
  FittedValue launch_us;
  std::vector<FittedHeadDim> head_dims;
  double rms_before = 0, rms_after = 0;  // relative error over the samples
  double median_after = 0;
};

struct FittedComm {
  CommOp op = CommOp::kP2p;
  std::size_t samples = 0;
  FittedValue floor_us, latency_us, busbw_gb_s;
  double rms_before = 0, rms_after = 0;
};

struct Calibration {
  std::vector<FittedKernelPass> kernels;
  std::vector<FittedComm> comm;  // nvlink's curves
  std::string comm_note;         // why no link was fitted, when none was
  DeviceKind device_kind = DeviceKind::kGpu;  // of the samples: the calibrated profile describes that device
};

// Fits every (kernel, pass) and communication kind that has samples. `where` names the samples in errors.
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
