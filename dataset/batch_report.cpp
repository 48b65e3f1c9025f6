// Aggregates of a batch run over its lines: per fixed strategy the mean, p95 and total against the chosen plans.
#include "dataset/batch_report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/text_format.h"

namespace cpsim {
namespace {

double percentile95(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (const double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

}  // namespace

BatchReport aggregate(const std::vector<BatchResult>& results) {
  BatchReport report;
  std::vector<double> chosen;
  std::map<std::string, std::vector<std::pair<std::size_t, double>>> by_label;  // label -> (result index, step)
  std::map<std::string, bool> pytorch;
  std::map<std::string, std::string> runtime;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].chosen.valid) continue;
    chosen.push_back(results[i].chosen.metrics.step_us);
    for (const auto& c : results[i].candidates) {
      by_label[c.label].emplace_back(i, c.step_us);
      pytorch[c.label] = c.pytorch;
      runtime[c.label] = c.runtime;
    }
  }
  report.batches = static_cast<std::int64_t>(chosen.size());
  report.chosen_mean_us = mean(chosen);
  report.chosen_p95_us = percentile95(chosen);
  double best_pytorch_total = 0, best_runnable_total = 0;
  for (const auto& [label, runs] : by_label) {
    StrategyStats s;
    s.label = label;
    s.pytorch = pytorch[label];
    s.runtime = runtime[label];
    s.batches = static_cast<std::int64_t>(runs.size());
    std::vector<double> steps;
    double own = 0, best = 0;
    for (const auto& [i, us] : runs) {
      steps.push_back(us);
      own += us;
      best += results[i].chosen.metrics.step_us;
    }
    s.mean_us = mean(steps);
    s.p95_us = percentile95(steps);
    s.speedup = best > 0 ? own / best : 0;
    if (s.pytorch && s.batches == report.batches && (report.best_pytorch.empty() || own < best_pytorch_total)) {
      report.best_pytorch = label;
      best_pytorch_total = own;
    }
    if (s.runtime == "pytorch" && s.batches == report.batches && (report.best_runnable.empty() || own < best_runnable_total)) {
      report.best_runnable = label;
      best_runnable_total = own;
    }
    report.strategies.push_back(std::move(s));
  }
  std::stable_sort(report.strategies.begin(), report.strategies.end(), [&](const StrategyStats& a, const StrategyStats& b) {
    if (a.batches != b.batches) return a.batches > b.batches;
    if (a.mean_us != b.mean_us) return a.mean_us < b.mean_us;
    return a.label < b.label;
  });
  return report;
}

Json report_json(const BatchReport& report) {
  Json strategies = Json::array();
  for (const auto& s : report.strategies) {
    strategies.push_back({{"strategy", s.label}, {"pytorch", s.pytorch}, {"runtime", s.runtime}, {"batches", s.batches}, {"mean_step_us", s.mean_us},
                          {"p95_step_us", s.p95_us}, {"chosen_speedup", s.speedup}});
  }
  return {{"batches", report.batches},
          {"chosen", {{"mean_step_us", report.chosen_mean_us}, {"p95_step_us", report.chosen_p95_us}}},
          {"best_fixed_pytorch", report.best_pytorch},
          {"best_fixed_pytorch_runnable", report.best_runnable},
          {"strategies", strategies}};
}

std::string summary_csv(const std::vector<BatchResult>& results, bool with_plans) {
  std::string out =
      "line,seq_len,rows,documents,balancer,strategy,runtime,step_us,lower_bound_us,compute_imbalance,best_pytorch_step_us,"
      "speedup_vs_best_pytorch,plan,reason\n";
  for (const BatchResult& r : results) {
    const Candidate& c = r.chosen;
    out += std::to_string(r.line) + "," + std::to_string(r.seq_len) + "," + std::to_string(r.rows) + "," + std::to_string(r.documents) + ",";
    if (!c.valid) {
      out += ",,,,,,,,," + csv_field(c.reason) + "\n";
      continue;
    }
    double best_pytorch = 0;
    for (const auto& x : r.candidates) {
      if (x.pytorch && (best_pytorch == 0 || x.step_us < best_pytorch)) best_pytorch = x.step_us;
    }
    out += c.strategy.balancer + "," + csv_field(strategy_text(c.strategy)) + "," + std::string(runtime_name(c.runtime.runtime)) + "," +
           format_number(c.metrics.step_us, "%.3f") + "," + format_number(c.metrics.lower_bound_us, "%.3f") +
           "," + format_number(c.metrics.compute_imbalance, "%.4f") + "," + (best_pytorch > 0 ? format_number(best_pytorch, "%.3f") : "") + "," +
           (best_pytorch > 0 ? format_number(best_pytorch / c.metrics.step_us, "%.4f") : "") + "," +
           (with_plans ? "plans/" + batch_line_file(r.line) : "") + ",\n";
  }
  return out;
}

}  // namespace cpsim
