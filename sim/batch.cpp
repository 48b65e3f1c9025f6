// Batch planning: parse and check every line first, skip lines an earlier run finished (same workload
// digest and settings), plan the rest on worker threads, then write the summary and the report from the
// per-line results in line order.
#include "sim/batch.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/plan.h"
#include "core/text_format.h"
#include "core/workload_json.h"
#include "sim/simulate.h"

namespace cpsim {
namespace {

namespace fs = std::filesystem;

std::string line_name(std::int64_t line) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "line-%06lld.json", static_cast<long long>(line));
  return buf;
}

Json settings_json(const std::string& source, const BatchSettings& s) {
  Json balancers = Json::array();
  for (const auto& b : s.scope.balancers) balancers.push_back(b);
  return {{"source", source},           {"world_size", s.world_size}, {"hardware", s.profile.name},
          {"block_size", s.block_size}, {"backward", s.backward},     {"balancers", balancers},
          {"ulysses", s.scope.ulysses}, {"plans", s.write_plans}};
}

Json candidate_json(const Candidate& c) {
  const Metrics& m = c.metrics;
  return {{"balancer", c.balancer},
          {"strategy", candidate_strategy(c)},
          {"path", path_name(c.strategy.path)},
          {"rotate", rotate_name(c.strategy.rotate)},
          {"ulysses", c.strategy.ulysses},
          {"plan_world_size", c.plan_world_size},
          {"valid", c.valid},
          {"reason", c.reason},
          {"step_us", m.step_us},
          {"lower_bound_us", m.lower_bound_us},
          {"compute_imbalance", m.compute_imbalance},
          {"max_exposed_comm_us", m.max_exposed_comm_us},
          {"peak_memory_bytes", m.peak_memory_bytes}};
}

Json result_json(const BatchResult& r) {
  Json candidates = Json::array();
  for (const auto& c : r.candidates) candidates.push_back(Json::array({c.label, c.pytorch, c.step_us}));
  return {{"line", r.line}, {"digest", r.digest},     {"seq_len", r.seq_len},        {"rows", r.rows},
          {"documents", r.documents}, {"chosen", candidate_json(r.chosen)}, {"candidates", candidates}};
}

// A result file written by an earlier run, if it is complete and for the same workload.
std::optional<BatchResult> read_result(const std::string& path, const std::string& digest) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  try {
    const Json doc = Json::parse(text.str());
    if (doc.at("digest").get<std::string>() != digest) return std::nullopt;
    BatchResult r;
    r.line = doc.at("line").get<std::int64_t>();
    r.digest = digest;
    r.seq_len = doc.at("seq_len").get<std::int64_t>();
    r.rows = doc.at("rows").get<std::int64_t>();
    r.documents = doc.at("documents").get<std::int64_t>();
    const Json& c = doc.at("chosen");
    r.chosen.balancer = c.at("balancer").get<std::string>();
    r.chosen.strategy.path = parse_path(c.at("path").get<std::string>()).value();
    r.chosen.strategy.rotate = parse_rotate(c.at("rotate").get<std::string>()).value();
    r.chosen.strategy.ulysses = c.at("ulysses").get<std::int64_t>();
    r.chosen.plan_world_size = c.at("plan_world_size").get<std::int64_t>();
    r.chosen.valid = c.at("valid").get<bool>();
    r.chosen.reason = c.at("reason").get<std::string>();
    r.chosen.metrics.step_us = c.at("step_us").get<double>();
    r.chosen.metrics.lower_bound_us = c.at("lower_bound_us").get<double>();
    r.chosen.metrics.compute_imbalance = c.at("compute_imbalance").get<double>();
    r.chosen.metrics.max_exposed_comm_us = c.at("max_exposed_comm_us").get<double>();
    r.chosen.metrics.peak_memory_bytes = c.at("peak_memory_bytes").get<double>();
    for (const Json& x : doc.at("candidates")) r.candidates.push_back({x.at(0).get<std::string>(), x.at(1).get<bool>(), x.at(2).get<double>()});
    return r;
  } catch (const std::exception&) {
    return std::nullopt;  // half-written by a crash, or from another version: plan the line again
  }
}

std::int64_t document_count(const Workload& w) {
  std::int64_t n = 0;
  for (const auto& row : w.documents) n += static_cast<std::int64_t>(row.size());
  return n;
}

Result<BatchResult> plan_line(const BatchLine& line, const std::string& where, const BatchSettings& s, const std::string& out_dir) {
  BatchResult r;
  r.line = line.line;
  r.digest = workload_digest(line.workload);
  r.seq_len = line.workload.seq_len;
  r.rows = line.workload.rows();
  r.documents = document_count(line.workload);
  CPSIM_ASSIGN_OR_RETURN(const Comparison c, compare_strategies(line.workload, where, s.world_size, s.block_size, s.profile,
                                                                s.backward, nullptr, s.scope));
  if (c.ranked.empty()) {
    r.chosen = c.invalid.empty() ? Candidate{} : c.invalid.front();
    if (r.chosen.reason.empty()) r.chosen.reason = "no candidate can run this workload";
    return r;
  }
  r.chosen = c.ranked.front();
  for (const Candidate& x : c.ranked) r.candidates.push_back({candidate_label(x), x.pytorch, x.metrics.step_us});
  if (s.write_plans) {
    CPSIM_ASSIGN_OR_RETURN(Plan plan, make_plan(line.workload, where, r.chosen.balancer, r.chosen.plan_world_size, s.block_size));
    CPSIM_ASSIGN_OR_RETURN(const Simulation sim, simulate(plan, r.chosen.strategy, s.profile, s.backward));
    plan.attention_path = std::string(path_name(sim.strategy.path));
    plan.rotate = std::string(rotate_name(sim.strategy.rotate));
    plan.ulysses = sim.strategy.ulysses;
    plan.hardware = s.profile.name;
    plan.predicted = predicted_json(sim);
    CPSIM_RETURN_IF_ERROR(save_plan(plan, (fs::path(out_dir) / "plans" / line_name(line.line)).string()));
  }
  return r;
}

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

Result<Workload> parse_batch_line(std::string_view text, const std::string& where) {
  CPSIM_ASSIGN_OR_RETURN(const Json doc, parse_json_text(text, where));
  return workload_from_json(doc, where);
}

Result<std::vector<BatchLine>> read_batch_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad_input(path + ": cannot open: " + std::strerror(errno));
  std::vector<BatchLine> lines;
  std::string text;
  for (std::int64_t number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    CPSIM_ASSIGN_OR_RETURN(Workload w, parse_batch_line(text, path + ":" + std::to_string(number)));
    lines.push_back({number, std::move(w)});
  }
  if (in.bad()) return bad_input(path + ": cannot read: " + std::strerror(errno));
  if (lines.empty()) return bad_input(path + ": no workloads: expected one workload JSON object per line");
  return lines;
}

Result<std::vector<BatchResult>> run_batch(const std::vector<BatchLine>& lines, const std::string& source,
                                           const BatchSettings& settings, const std::string& out_dir,
                                           BatchProgress& progress, const std::function<bool()>& cancelled) {
  std::error_code ec;
  for (const char* sub : {"results", "plans"}) {
    fs::create_directories(fs::path(out_dir) / sub, ec);
    if (ec) return bad_input(out_dir + ": --out-dir: cannot create " + sub + "/: " + ec.message());
  }
  // Resuming is only safe with the same settings; anything else would mix two experiments in one folder.
  const std::string settings_path = (fs::path(out_dir) / "batch.json").string();
  const Json settings_doc = settings_json(source, settings);
  if (fs::exists(settings_path)) {
    auto previous = read_json_file(settings_path);
    if (!previous || *previous != settings_doc) {
      return bad_input(out_dir + ": --out-dir: holds a batch run with other settings (" + settings_path +
                       "); use a new folder or remove it");
    }
  } else {
    CPSIM_RETURN_IF_ERROR(write_file_atomically(settings_path, settings_doc.dump(2) + "\n"));
  }

  std::vector<std::optional<BatchResult>> results(lines.size());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string file = (fs::path(out_dir) / "results" / line_name(lines[i].line)).string();
    const bool plan_there = !settings.write_plans || fs::exists(fs::path(out_dir) / "plans" / line_name(lines[i].line));
    if (auto done = read_result(file, workload_digest(lines[i].workload)); done && plan_there) {
      results[i] = std::move(done);
      ++progress.resumed;
    } else {
      todo.push_back(i);
    }
  }

  std::atomic<std::size_t> next{0};
  std::mutex failure_mutex;
  std::optional<Error> failure;
  auto worker = [&] {
    for (std::size_t k = next++; k < todo.size(); k = next++) {
      {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (failure) return;
      }
      if (cancelled && cancelled()) return;
      const BatchLine& line = lines[todo[k]];
      const std::string where = source + ":" + std::to_string(line.line);
      auto r = plan_line(line, where, settings, out_dir);
      Status written = r ? write_file_atomically((fs::path(out_dir) / "results" / line_name(line.line)).string(),
                                                 result_json(*r).dump() + "\n")
                         : Status(r.error());
      if (!written) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = written.error();
        return;
      }
      results[todo[k]] = std::move(*r);
      ++progress.done;
    }
  };
  const int jobs = std::max(1, std::min<int>(settings.jobs, static_cast<int>(std::max<std::size_t>(todo.size(), 1))));
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (failure) return *failure;
  if (cancelled && cancelled()) {
    return bad_input("interrupted after " + std::to_string(progress.done + progress.resumed) + " of " +
                     std::to_string(lines.size()) + " lines; run the same command again to resume");
  }

  std::vector<BatchResult> out;
  out.reserve(results.size());
  for (auto& r : results) out.push_back(std::move(*r));
  CPSIM_RETURN_IF_ERROR(write_file_atomically((fs::path(out_dir) / "summary.csv").string(), summary_csv(out, settings.write_plans)));
  CPSIM_RETURN_IF_ERROR(write_file_atomically((fs::path(out_dir) / "report.json").string(), report_json(aggregate(out)).dump(2) + "\n"));
  return out;
}

BatchReport aggregate(const std::vector<BatchResult>& results) {
  BatchReport report;
  std::vector<double> chosen;
  std::map<std::string, std::vector<std::pair<std::size_t, double>>> by_label;  // label -> (result index, step)
  std::map<std::string, bool> pytorch;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].chosen.valid) continue;
    chosen.push_back(results[i].chosen.metrics.step_us);
    for (const auto& c : results[i].candidates) {
      by_label[c.label].emplace_back(i, c.step_us);
      pytorch[c.label] = c.pytorch;
    }
  }
  report.batches = static_cast<std::int64_t>(chosen.size());
  report.chosen_mean_us = mean(chosen);
  report.chosen_p95_us = percentile95(chosen);
  double best_pytorch_total = 0;
  for (const auto& [label, runs] : by_label) {
    StrategyStats s;
    s.label = label;
    s.pytorch = pytorch[label];
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
    strategies.push_back({{"strategy", s.label}, {"pytorch", s.pytorch}, {"batches", s.batches}, {"mean_step_us", s.mean_us},
                          {"p95_step_us", s.p95_us}, {"chosen_speedup", s.speedup}});
  }
  return {{"batches", report.batches},
          {"chosen", {{"mean_step_us", report.chosen_mean_us}, {"p95_step_us", report.chosen_p95_us}}},
          {"best_fixed_pytorch", report.best_pytorch},
          {"strategies", strategies}};
}

std::string summary_csv(const std::vector<BatchResult>& results, bool with_plans) {
  std::string out =
      "line,seq_len,rows,documents,balancer,strategy,step_us,lower_bound_us,compute_imbalance,best_pytorch_step_us,"
      "speedup_vs_best_pytorch,plan,reason\n";
  for (const BatchResult& r : results) {
    const Candidate& c = r.chosen;
    out += std::to_string(r.line) + "," + std::to_string(r.seq_len) + "," + std::to_string(r.rows) + "," + std::to_string(r.documents) + ",";
    if (!c.valid) {
      out += ",,,,,,,," + csv_field(c.reason) + "\n";
      continue;
    }
    double best_pytorch = 0;
    for (const auto& x : r.candidates) {
      if (x.pytorch && (best_pytorch == 0 || x.step_us < best_pytorch)) best_pytorch = x.step_us;
    }
    out += c.balancer + "," + candidate_strategy(c) + "," + format_number(c.metrics.step_us, "%.3f") + "," + format_number(c.metrics.lower_bound_us, "%.3f") +
           "," + format_number(c.metrics.compute_imbalance, "%.4f") + "," + (best_pytorch > 0 ? format_number(best_pytorch, "%.3f") : "") + "," +
           (best_pytorch > 0 ? format_number(best_pytorch / c.metrics.step_us, "%.4f") : "") + "," +
           (with_plans ? "plans/" + line_name(r.line) : "") + ",\n";
  }
  return out;
}

}  // namespace cpsim
