// MEASURED.json: what an executor measured for a plan (per (rank, step) compute and communication times,
// the work behind them, the numeric error against the reference) and what was predicted beside it.
// Written by `cpsim execute`, read by `cpsim calibrate` and the GUI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <cmath>

#include "device_kind.h"
#include "json_fields.h"
#include "result.h"
#include "strategy.h"

namespace cpsim {

inline constexpr int kMeasurementSchemaVersion = 1;

struct MeasuredStep {
  std::int64_t rank = 0;
  std::int64_t step = 0;
  double compute_us = 0;
  double comm_us = 0;           // communication that brought this step's K/V (0 when none)
  std::int64_t full_tiles = 0;  // work of this (rank, step) at the plan's tile size, one head
  std::int64_t partial_tiles = 0;
  std::int64_t active_rows = 0;     // Q tile rows with any work (the kernel's CTAs per head)
  std::int64_t max_row_tiles = 0;   // tiles of the busiest Q tile row (its longest CTA); 0 when not recorded
  double comm_bytes = 0;        // bytes this rank received for the step
};

// The backward pass, when it ran: dQ/dK/dV checked against the fp64 reference, and per (rank, step) the
// backward compute and the wait for that step's K/V and dK/dV (tile counts as forward).
struct MeasuredBackward {
  bool ran = false;
  double total_us = 0;  // backward wall time of the slowest rank
  double max_abs_error = 0;
  double max_rel_error = 0;
  double tolerance = 0;
  bool verified = false;
  std::vector<MeasuredStep> steps;
};

struct Measurement {
  std::string plan_source;
  std::string workload_digest;
  std::string device;   // "cpu (8 threads)", "NVIDIA H100 80GB HBM3", ...
  std::string driver;
  std::string commit;
  std::string executor;     // cpu, mpi, cuda, cuda-nccl
  DeviceKind device_kind = DeviceKind::kCpu;  // what the executor ran on
  std::int64_t world_size = 0;
  Strategy strategy;  // what ran: the plan's, with any rotate override, on a path that executor has
  std::int64_t tile_size = 128;
  std::int64_t q_heads = 0, kv_heads = 0, head_dim = 0;  // the shape that ran
  std::vector<MeasuredStep> steps;
  double total_us = 0;  // wall time of the slowest rank
  double max_abs_error = 0;
  double max_rel_error = 0;
  double tolerance = 0;
  bool verified = false;
  MeasuredBackward backward;
  Json predicted;  // the plan's prediction, when it has one
};

// One rank's measured compute and communication, summed over its steps.
struct RankTotals {
  double compute_us = 0;
  double comm_us = 0;
};
RankTotals rank_totals(const std::vector<MeasuredStep>& steps, std::int64_t rank);

// One rank's predicted time of one kind (a plan's prediction's "forward_compute_us", "backward_compute_us", ...)
// summed over its steps; nullopt when the prediction has no such entry.
std::optional<double> predicted_rank_us(const Json& predicted, const std::string& key, std::int64_t rank);

// The one rule for setting measured times against a prediction: both must be of the same kind of device (a CPU
// run says nothing of an H100 profile's numbers) and of the same kernel (FlashAttention-2's time says nothing of
// cpsim's kernel's). The prediction records its profile's kind and its kernel ("device_kind", "kernel", written by
// the simulator); the measurement its executor's. `why_not` says what is missing or differs.
struct Comparability {
  bool comparable = false;
  std::string why_not;
};
Comparability comparable_with_prediction(const Measurement& m);

Json measurement_to_json(const Measurement& m);
Result<Measurement> load_measurement(const std::string& path);

}  // namespace cpsim
