// Planning a whole dataset: for every line of BATCHES.jsonl every candidate is simulated and the fastest
// becomes a plan file and a result file; results are one file per line, so an interrupted run resumes, and
// only with the same settings and the same hardware profile content.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataset/batch_file.h"
#include "sim/compare.h"
#include "sim/hardware.h"

namespace cpsim {

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
  std::string label;  // the strategy's text with the stage count left open: one fixed strategy across lines
  bool pytorch = false;
  double step_us = 0;
  std::string runtime;  // runtime_name: who can run it
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

// The file name of a line's result and plan: "line-000012.json".
std::string batch_line_file(std::int64_t line);

// A result file's content, and reading one back (what resume trusts: a file for another workload, or one
// that is incomplete or malformed, is an error and the line is planned again).
Json batch_result_json(const BatchResult& result);
Result<BatchResult> batch_result_from_json(const Json& doc, const std::string& source);

}  // namespace cpsim
