// What a batch run reports: how the chosen plans compare with every fixed strategy over the dataset, as
// summary.csv (one line per batch) and report.json (one entry per fixed strategy).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json_fields.h"
#include "dataset/batch_run.h"

namespace cpsim {

struct StrategyStats {
  std::string label;
  bool pytorch = false;       // PyTorch as shipped: its own balancer on its own path
  std::string runtime;        // who can run it (runtime_name)
  std::int64_t batches = 0;  // lines it could run
  double mean_us = 0, p95_us = 0;
  double speedup = 0;  // sum of its step times / sum of the chosen plans' on the same lines
};

struct BatchReport {
  std::int64_t batches = 0;
  double chosen_mean_us = 0, chosen_p95_us = 0;
  std::vector<StrategyStats> strategies;  // fastest mean first among those that ran every line, then the rest
  std::string best_pytorch;               // the fixed PyTorch-native strategy with the lowest total, if any ran every line
  std::string best_runnable;              // the fixed strategy PyTorch can run (runtime pytorch) with the lowest total, likewise
};

BatchReport aggregate(const std::vector<BatchResult>& results);
Json report_json(const BatchReport& report);
// One line per batch: the chosen strategy (its text, what `plan --strategy` reads), its step time and the best
// PyTorch-native candidate's.
std::string summary_csv(const std::vector<BatchResult>& results, bool with_plans);

}  // namespace cpsim
