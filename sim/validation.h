// The published record as data (data/validation/*.json, one file per source): kernel timings, nccl-tests curves
// and multi-GPU CP timings, each with its exact source, setting and split (fit: may set constants; check: never
// does; excluded: shown with why, not scored). Predicting every point with the simulator itself, the error
// statistics validate prints, and the fit split as calibration samples.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/workload.h"
#include "sim/calibrate.h"
#include "sim/hardware.h"

namespace cpsim {

enum class PointKind { kKernel, kCollective, kCp };
enum class Split { kFit, kCheck, kExcluded };
std::string_view split_name(Split split);

struct ValidationPoint {
  std::string id;
  std::string file;       // the data file it is in
  std::string source;     // the source's title and the point's place in it ("... Figure 5a")
  std::string url;
  std::string hardware;   // the profile it is predicted on
  Split split = Split::kCheck;
  std::string why;        // excluded: why it is not scored
  PointKind kind = PointKind::kKernel;
  // kernel and cp points
  std::string kernel;
  bool forward = true, backward = false;  // the passes timed ("forward", "backward", "forward+backward")
  Mask mask;
  std::int64_t batch = 1, seq_len = 0;
  ModelShape model;
  std::string strategy;   // cp: the strategy text (balancer + path on kernel)
  std::int64_t world_size = 1;
  // collective points
  CommOp op = CommOp::kP2p;
  double bytes = 0;       // nccl-tests' size (an all-gather's output)
  std::int64_t ranks = 0;
  std::string metric;     // as published: time_ms, time_us, tflops, busbw_gb_s
  double value = 0;
  double published_us = 0;  // the value as a time
  std::string setting() const;  // one line: "fa2 forward causal B=8 S=2048 H=16 D=128"
};

// The points of one source file's JSON (`file` names it in errors and in each point).
Result<std::vector<ValidationPoint>> validation_points_from_json(const Json& doc, const std::string& file);
// Every *.json file of `dir`, sorted by name. Errors name the file and field.
Result<std::vector<ValidationPoint>> load_validation(const std::string& dir);
std::string validation_dir();  // data/validation ($CPSIM_DATA_DIR as for profiles)

struct PointResult {
  const ValidationPoint* point = nullptr;
  double predicted_us = 0;
  double error = 0;  // (predicted - published) / published
};

struct SplitStats {
  std::size_t points = 0;
  double median = 0, p90 = 0, max = 0;  // of |error|
};
SplitStats split_stats(const std::vector<PointResult>& results, Split split);

// Predicts each point (all, or those of one hardware tag) with the profile its tag names; `profiles` caches them.
// A point the profile cannot simulate (a kernel it lacks) is an error naming the point.
Result<std::vector<PointResult>> predict_points(const std::vector<ValidationPoint>& points, const std::string& hardware,
                                                std::map<std::string, HardwareProfile>& profiles);

// The fit split of `hardware`'s points as calibration samples for `profile` (kernel points as their kernel's
// shape, collective points as their curve's). CP points are never fitted.
Result<std::pair<std::vector<KernelSample>, std::vector<CommSample>>> fit_samples_of(const std::vector<ValidationPoint>& points,
                                                                                    const HardwareProfile& profile);

}  // namespace cpsim
