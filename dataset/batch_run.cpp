// Batch planning: check every line first, skip lines an earlier run finished (same workload digest, same
// settings, same profile content), plan the rest on worker threads, then write the summary and the report
// from the per-line results in line order.
#include "dataset/batch_run.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <new>
#include <system_error>
#include <optional>
#include <thread>

#include "core/file_io.h"
#include "core/plan.h"
#include "core/workload_json.h"
#include "dataset/batch_report.h"
#include "sim/simulate.h"

namespace cpsim {
namespace {

namespace fs = std::filesystem;

// What a run's results depend on besides the lines; a folder holding another run's is refused. The profile is
// named by its content: two files called h100-sxm-8x with other numbers are two experiments.
Json settings_json(const std::string& source, const BatchSettings& s) {
  Json balancers = Json::array();
  for (const auto& b : s.scope.balancers) balancers.push_back(b);
  return {{"source", source},           {"world_size", s.world_size}, {"hardware", s.profile.name},
          {"hardware_digest", s.profile.digest},
          {"block_size", s.block_size}, {"backward", s.backward},     {"balancers", balancers},
          {"ulysses", s.scope.ulysses}, {"kernel", s.scope.kernel},
          {"runtime", s.scope.runtime ? std::string(runtime_name(*s.scope.runtime)) : std::string("any")}, {"plans", s.write_plans}};
}

Json candidate_json(const Candidate& c) {
  const Metrics& m = c.metrics;
  return {{"strategy", strategy_to_json(c.strategy)},
          {"plan_world_size", c.plan_world_size},
          {"valid", c.valid},
          {"runtime", runtime_name(c.runtime.runtime)},
          {"runtime_note", c.runtime.how},
          {"reason", c.reason},
          {"step_us", m.step_us},
          {"lower_bound_us", m.lower_bound_us},
          {"compute_imbalance", m.compute_imbalance},
          {"max_exposed_comm_us", m.max_exposed_comm_us},
          {"peak_memory_bytes", m.peak_memory_bytes}};
}

// A result file written by an earlier run, if it is complete and for the same workload.
std::optional<BatchResult> read_result(const std::string& path, const std::string& digest) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  auto doc = read_json_file(path, FileRole::kOwn);
  if (!doc) return std::nullopt;  // half-written by a crash: plan the line again
  auto r = batch_result_from_json(*doc, path);
  if (!r || r->digest != digest) return std::nullopt;  // from another version, or for another workload
  return std::move(*r);
}

// A plan file an earlier run finished: it loads and is for this line's workload (a truncated or empty one, left
// by a killed run or a full disk, is planned again).
bool plan_is_whole(const std::string& out_dir, std::int64_t line, const std::string& digest) {
  const std::string path = (fs::path(out_dir) / "plans" / batch_line_file(line)).string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  auto doc = read_json_file(path, FileRole::kOwn);
  if (!doc) return false;
  auto plan = plan_from_json(*doc, path);
  return plan && workload_digest(plan->workload) == digest;
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
  CompareScope scope = s.scope;
  scope.keep_best_plan = s.write_plans;  // the chosen plan comes with the comparison, not balanced and simulated again
  CPSIM_ASSIGN_OR_RETURN(const Comparison c, compare_strategies(line.workload, where, s.world_size, s.block_size, s.profile,
                                                                s.backward, nullptr, scope));
  if (c.ranked.empty()) {
    r.chosen = c.invalid.empty() ? Candidate{} : c.invalid.front();
    if (r.chosen.reason.empty()) r.chosen.reason = "no candidate can run this workload";
    return r;
  }
  r.chosen = c.ranked.front();
  for (const Candidate& x : c.ranked) {
    r.candidates.push_back({strategy_text(x.strategy.with_stages(0)), x.pytorch, x.metrics.step_us, std::string(runtime_name(x.runtime.runtime))});
  }
  if (s.write_plans) {
    CPSIM_RETURN_IF_ERROR(save_plan(*c.best_plan, (fs::path(out_dir) / "plans" / batch_line_file(line.line)).string()));
  }
  return r;
}

}  // namespace

std::string batch_line_file(std::int64_t line) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "line-%06lld.json", static_cast<long long>(line));
  return buf;
}

Json batch_result_json(const BatchResult& r) {
  Json candidates = Json::array();
  for (const auto& c : r.candidates) candidates.push_back(Json::array({c.label, c.pytorch, c.step_us, c.runtime}));
  return {{"line", r.line}, {"digest", r.digest},     {"seq_len", r.seq_len},        {"rows", r.rows},
          {"documents", r.documents}, {"chosen", candidate_json(r.chosen)}, {"candidates", candidates}};
}

Result<BatchResult> batch_result_from_json(const Json& doc, const std::string& source) {
  const FieldReader rd(source);
  CPSIM_RETURN_IF_ERROR(rd.expect_object(doc, ""));
  auto integer = [&](const Json& obj, const std::string& field, std::string_view key) -> Result<std::int64_t> {
    CPSIM_ASSIGN_OR_RETURN(const Json* node, rd.member(obj, field, key));
    return rd.integer(*node, FieldReader::join(field, key));
  };
  auto number = [&](const Json& obj, const std::string& field, std::string_view key) -> Result<double> {
    CPSIM_ASSIGN_OR_RETURN(const Json* node, rd.member(obj, field, key));
    if (!node->is_number()) return rd.error(FieldReader::join(field, key), "expected a number, got " + describe_value(*node));
    return node->get<double>();
  };
  auto flag = [&](const Json& value, const std::string& field) -> Result<bool> {
    if (!value.is_boolean()) return rd.error(field, "expected true or false, got " + describe_value(value));
    return value.get<bool>();
  };
  BatchResult r;
  CPSIM_ASSIGN_OR_RETURN(r.line, integer(doc, "", "line"));
  CPSIM_ASSIGN_OR_RETURN(const Json* digest, rd.member(doc, "", "digest"));
  CPSIM_ASSIGN_OR_RETURN(r.digest, rd.string(*digest, "digest"));
  CPSIM_ASSIGN_OR_RETURN(r.seq_len, integer(doc, "", "seq_len"));
  CPSIM_ASSIGN_OR_RETURN(r.rows, integer(doc, "", "rows"));
  CPSIM_ASSIGN_OR_RETURN(r.documents, integer(doc, "", "documents"));
  CPSIM_ASSIGN_OR_RETURN(const Json* chosen, rd.member(doc, "", "chosen"));
  CPSIM_RETURN_IF_ERROR(rd.expect_object(*chosen, "chosen"));
  Candidate& c = r.chosen;
  CPSIM_ASSIGN_OR_RETURN(const Json* strategy, rd.member(*chosen, "chosen", "strategy"));
  CPSIM_ASSIGN_OR_RETURN(c.strategy, strategy_from_json(*strategy, rd, "chosen.strategy"));
  CPSIM_ASSIGN_OR_RETURN(c.plan_world_size, integer(*chosen, "chosen", "plan_world_size"));
  CPSIM_ASSIGN_OR_RETURN(const Json* valid, rd.member(*chosen, "chosen", "valid"));
  CPSIM_ASSIGN_OR_RETURN(c.valid, flag(*valid, "chosen.valid"));
  CPSIM_ASSIGN_OR_RETURN(const Json* runtime, rd.member(*chosen, "chosen", "runtime"));
  CPSIM_ASSIGN_OR_RETURN(const std::string runtime_text, rd.string(*runtime, "chosen.runtime"));
  const auto parsed_runtime = parse_runtime(runtime_text);
  if (!parsed_runtime) return rd.error("chosen.runtime", "unknown runtime \"" + runtime_text + "\"");
  c.runtime.runtime = *parsed_runtime;
  CPSIM_ASSIGN_OR_RETURN(const Json* runtime_note, rd.member(*chosen, "chosen", "runtime_note"));
  CPSIM_ASSIGN_OR_RETURN(c.runtime.how, rd.string(*runtime_note, "chosen.runtime_note"));
  CPSIM_ASSIGN_OR_RETURN(const Json* reason, rd.member(*chosen, "chosen", "reason"));
  CPSIM_ASSIGN_OR_RETURN(c.reason, rd.string(*reason, "chosen.reason"));
  CPSIM_ASSIGN_OR_RETURN(c.metrics.step_us, number(*chosen, "chosen", "step_us"));
  CPSIM_ASSIGN_OR_RETURN(c.metrics.lower_bound_us, number(*chosen, "chosen", "lower_bound_us"));
  CPSIM_ASSIGN_OR_RETURN(c.metrics.compute_imbalance, number(*chosen, "chosen", "compute_imbalance"));
  CPSIM_ASSIGN_OR_RETURN(c.metrics.max_exposed_comm_us, number(*chosen, "chosen", "max_exposed_comm_us"));
  CPSIM_ASSIGN_OR_RETURN(c.metrics.peak_memory_bytes, number(*chosen, "chosen", "peak_memory_bytes"));
  CPSIM_ASSIGN_OR_RETURN(const Json* candidates, rd.member(doc, "", "candidates"));
  CPSIM_RETURN_IF_ERROR(rd.expect_array(*candidates, "candidates"));
  for (std::size_t i = 0; i < candidates->size(); ++i) {
    const Json& x = (*candidates)[i];
    const std::string field = FieldReader::index("candidates", i);
    if (!x.is_array() || x.size() != 4) return rd.error(field, "expected [label, pytorch, step_us, runtime], got " + describe_value(x));
    BatchCandidate bc;
    CPSIM_ASSIGN_OR_RETURN(bc.label, rd.string(x[0], FieldReader::index(field, 0)));
    CPSIM_ASSIGN_OR_RETURN(bc.pytorch, flag(x[1], FieldReader::index(field, 1)));
    if (!x[2].is_number()) return rd.error(FieldReader::index(field, 2), "expected a number, got " + describe_value(x[2]));
    bc.step_us = x[2].get<double>();
    CPSIM_ASSIGN_OR_RETURN(bc.runtime, rd.string(x[3], FieldReader::index(field, 3)));
    if (!parse_runtime(bc.runtime)) return rd.error(FieldReader::index(field, 3), "unknown runtime \"" + bc.runtime + "\"");
    r.candidates.push_back(std::move(bc));
  }
  return r;
}

Result<std::vector<BatchResult>> run_batch(const std::vector<BatchLine>& lines, const std::string& source,
                                           const BatchSettings& settings, const std::string& out_dir,
                                           BatchProgress& progress, const std::function<bool()>& cancelled) {
  std::error_code ec;
  for (const char* sub : {"results", "plans"}) {
    fs::create_directories(fs::path(out_dir) / sub, ec);
    if (ec) return bad_input(out_dir + ": --out-dir: cannot create " + sub + "/: " + ec.message());
  }
  // What a killed run was writing: never a result, only in the way.
  for (const char* sub : {"", "results", "plans"}) remove_stale_temporaries((fs::path(out_dir) / sub).string());
  // Resuming is only safe with the same settings; anything else would mix two experiments in one folder.
  const std::string settings_path = (fs::path(out_dir) / "batch.json").string();
  const Json settings_doc = settings_json(source, settings);
  if (fs::exists(settings_path)) {
    auto previous = read_json_file(settings_path, FileRole::kOwn);
    if (!previous || *previous != settings_doc) {
      return bad_input(out_dir + ": --out-dir: holds a batch run with other settings (" + settings_path +
                       "); use a new folder or remove it");
    }
  } else {
    CPSIM_RETURN_IF_ERROR(write_file_atomically(settings_path, json_text(settings_doc, 2) + "\n"));
  }

  std::vector<std::optional<BatchResult>> results(lines.size());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string file = (fs::path(out_dir) / "results" / batch_line_file(lines[i].line)).string();
    const std::string digest = workload_digest(lines[i].workload);
    if (auto done = read_result(file, digest); done && (!settings.write_plans || plan_is_whole(out_dir, lines[i].line, digest))) {
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
      Result<BatchResult> r = Error{};
      try {
        r = plan_line(line, where, settings, out_dir);
      } catch (const std::bad_alloc&) {
        r = bad_input(where + ": out of memory while planning this line");
      } catch (const std::exception& e) {
        r = Error{ErrorCode::kExecutionFailed, where + ": internal error: " + e.what()};
      }
      Status written = r ? write_file_atomically((fs::path(out_dir) / "results" / batch_line_file(line.line)).string(),
                                                 json_text(batch_result_json(*r)) + "\n")
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
  try {
    for (int j = 1; j < jobs; ++j) threads.emplace_back(worker);
  } catch (const std::system_error& e) {  // fewer threads than asked for: the ones started share the lines
    std::lock_guard<std::mutex> lock(failure_mutex);
    if (threads.empty()) failure = bad_input("--jobs: cannot start " + std::to_string(jobs) + " threads: " + e.what());
  }
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
  CPSIM_RETURN_IF_ERROR(write_file_atomically((fs::path(out_dir) / "report.json").string(), json_text(report_json(aggregate(out)), 2) + "\n"));
  return out;
}

}  // namespace cpsim
