// Batch planning for a whole dataset: one workload per line of a JSONL file; for each, every candidate is
// simulated and the fastest becomes a plan file and a summary row; an aggregate report compares the chosen
// plans with every fixed strategy. Results are one file per line, so an interrupted run resumes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/json_fields.h"
#include "core/workload.h"
#include "sim/compare.h"
#include "sim/hardware.h"

namespace cpsim {

// One line of BATCHES.jsonl: a workload object with the same fields as WORKLOAD.json. `where` names the
// file and line ("batches.jsonl:12") in errors.
Result<Workload> parse_batch_line(std::string_view text, const std::string& where);

struct BatchLine {
  std::int64_t line = 0;  // 1-based line number in the file
  Workload workload;
};
// Every non-blank line, checked before anything runs (a bad line is exit 2 with nothing written).
Result<std::vector<BatchLine>> read_batch_file(const std::string& path);

struct BatchSettings {
  std::int64_t world_size = 0;
  HardwareProfile profile;
  std::int64_t block_size = 128;
  bool backward = false;
  CompareScope scope;
  bool write_plans = true;  // PLAN.json of the chosen candidate per line
  int jobs = 1;             // worker threads
};

// One candidate's outcome on one line (what the aggregate needs).
struct BatchCandidate {
  std::string label;  // candidate_label
  bool pytorch = false;
  double step_us = 0;
};

struct BatchResult {
  std::int64_t line = 0;
  std::string digest;  // of the workload, so a changed input line is planned again
  std::int64_t seq_len = 0, rows = 0, documents = 0;
  Candidate chosen;
  std::vector<BatchCandidate> candidates;  // valid ones, fastest first
};

struct BatchProgress {
  std::atomic<std::int64_t> done{0};     // lines finished this run
  std::atomic<std::int64_t> resumed{0};  // lines found finished by an earlier run
};

// Plans every line into `out_dir` (results/, plans/, summary.csv, report.json) and returns the results in
// line order. `cancelled` is polled between lines. Byte-identical files for any number of jobs.
Result<std::vector<BatchResult>> run_batch(const std::vector<BatchLine>& lines, const std::string& source,
                                           const BatchSettings& settings, const std::string& out_dir,
                                           BatchProgress& progress, const std::function<bool()>& cancelled = nullptr);

struct StrategyStats {
  std::string label;
  bool pytorch = false;
  std::int64_t batches = 0;  // lines it could run
  double mean_us = 0, p95_us = 0;
  double speedup = 0;  // sum of its step times / sum of the chosen plans' on the same lines
};

struct BatchReport {
  std::int64_t batches = 0;
  double chosen_mean_us = 0, chosen_p95_us = 0;
  std::vector<StrategyStats> strategies;  // fastest mean first among those that ran every line, then the rest
  std::string best_pytorch;               // the fixed PyTorch-native strategy with the lowest total, if any ran every line
};

BatchReport aggregate(const std::vector<BatchResult>& results);
Json report_json(const BatchReport& report);
std::string summary_csv(const std::vector<BatchResult>& results, bool with_plans);

}  // namespace cpsim
