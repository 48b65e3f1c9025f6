// Calibration: fits the cost model's compute and communication constants to measurements by least
// squares (Eigen) and writes a new hardware profile. The fitted model is the simulator's own kernel form
// (CostModel::critical_share: waves, or the longest tile row) and the alpha-beta hop:
//   compute_us = launch_us + share * H * (t_full * full + t_partial * partial) / k
//   comm_us    = latency_us + bytes / bandwidth
// with k the profile's block-sparse factor on block-sparse paths (kept, not fitted) and 1 on the SDPA ring.
// Backward steps (MEASURED.json's backward section) fit the backward tile rate in the same form.
#pragma once

#include <string>
#include <vector>

#include "core/json_fields.h"
#include "core/measurement.h"
#include "sim/hardware.h"

namespace cpsim {

struct LinearFit {
  std::vector<double> coefficients;
  std::size_t samples = 0;
  double rms_relative_error = 0;  // of the fitted model over the samples
};

struct Calibration {
  LinearFit compute;  // launch_us, t_full_us, t_partial_us (per tile and head on one CTA slot)
  LinearFit comm;     // latency_us, us_per_byte (empty when the hops had one size: links kept as they were)
  std::string comm_note;
  double rms_error_before_compute = 0;  // the input profile's constants on the same samples
  double rms_error_before_comm = 0;
  double fwd_efficiency_scale = 1;      // new / old forward efficiency at the measured head dim
  double partial_tile_overhead_fraction = 0;
  double kernel_launch_us = 0;
  double p2p_bandwidth_gb_s = 0;
  double latency_us = 0;
  // Backward, when the measurements ran it: one tile rate fitted with forward's launch and partial-tile
  // overhead (the profile shares them), as new / old backward efficiency; samples 0 when none.
  std::size_t backward_samples = 0;
  double bwd_efficiency_scale = 1;
  double rms_error_before_backward = 0;
  double rms_error_after_backward = 0;
  // The kind of device the measurements ran on: the calibrated profile describes that device.
  DeviceKind device_kind = DeviceKind::kCpu;
};

// Fails (exit 2) when the measurements have too few distinct samples to determine the constants, or mix tile
// sizes or head dims (a tile's cost depends on both; calibrate each shape on its own). `names` (optional,
// one per measurement) name them in errors.
Result<Calibration> calibrate(const std::vector<Measurement>& measurements, const HardwareProfile& profile,
                              const std::vector<std::string>& names = {});

// The input profile file with the fitted numbers and their provenance written in.
Result<Json> calibrated_profile_json(const HardwareProfile& profile, const Calibration& c, const std::string& name,
                                     const std::string& provenance);

}  // namespace cpsim
