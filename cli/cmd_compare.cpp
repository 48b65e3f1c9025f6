// `cpsim compare`: every (balancer, path, rotate) combination ranked by predicted step time, the ones that
// cannot run with their reason, and the winner with a one-line why. CSV and JSON for machines.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/explain_text.h"
#include "cli/fidelity.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "cli/workload_text.h"
#include "core/json_fields.h"
#include "core/workload_json.h"
#include "sim/compare.h"
#include "sim/compare_summary.h"
#include "sim/report_json.h"

namespace cpsim::cli {
namespace {

struct CompareOptions {
  std::string workload;
  std::int64_t world_size = 0;
  std::string hardware = "h100-sxm-8x";
  std::int64_t block_size = 128;
  bool backward = false;
  std::string kernel;
  std::string runtime = "any";
  std::string csv;
  std::string export_dir;
  int explain = 0;  // the row to explain (1-based), 0: none
  bool top_given = false;
  bool json = false;
  int top = 15;
};

// The candidate's runtime as the table shows it.
std::string runtime_cell(const Candidate& x) { return std::string(runtime_name(x.runtime.runtime)); }



// What users can act on: the best plan PyTorch runs today, the best overall and what the second gains over the first,
// and PyTorch as shipped (its own balancers) when that is not the best PyTorch plan.
void print_runtime_summary(const Comparison& c) {
  for (const std::string& line : runtime_summary(c)) std::cout << line << "\n";
}

void print_comparison(const Comparison& c, const Workload& w, const CompareOptions& o, const HardwareProfile& hw) {
  std::cout << describe_workload(w, o.workload) << "\nworld size " << o.world_size << " on " << hw.name << " ("
            << hw.shape_text(o.world_size) << "), " << (o.backward ? "forward + backward" : "forward") << "\n\n";
  const double best = c.ranked.empty() ? 0 : c.ranked.front().metrics.step_us;
  Table table({"#", "balancer", "path/rotate on kernel", "runs on", "step ms", "", "vs best", "x lower bound", "imbalance", "exposed comm ms",
               "memory GiB"},
              {false, true, true, true, false, true, false, false, false, false, false});
  double worst = 0;
  for (const Candidate& x : c.ranked) worst = std::max(worst, x.metrics.step_us);
  std::int64_t rank = 0;
  for (const Candidate& x : c.ranked) {
    const Metrics& m = x.metrics;
    if (o.top > 0 && rank == o.top) break;
    ++rank;
    table.add_row({std::to_string(rank), x.strategy.pure_ulysses ? "-" : x.strategy.balancer, path_text(x.strategy), runtime_cell(x), millis(m.step_us),
                   bar(m.step_us, worst, 16), fixed(m.step_us / best, 2) + "x" + (x.tie ? " ≈" : ""), fixed(m.ratio_to_lower_bound, 2),
                   fixed(m.compute_imbalance, 3), millis(m.max_exposed_comm_us),
                   fixed(m.peak_memory_bytes / (1024.0 * 1024.0 * 1024.0), 2)});
  }
  std::cout << table.render();
  if (c.ties > 0) {
    std::cout << "≈ within the model's median error (" << percent(c.model_error) << ") of #1: " << c.ties << " candidate"
              << (c.ties == 1 ? "" : "s") << " tie with the winner\n";
  }
  if (o.top > 0 && c.ranked.size() > static_cast<std::size_t>(o.top)) {
    std::cout << "... " << c.ranked.size() - static_cast<std::size_t>(o.top) << " more (--top 0 shows all, --csv writes all)\n";
  }
  if (!c.invalid.empty()) {
    // Group the combinations that cannot run by reason: one line per reason, written as "strategies with
    // balancers" when the group is every pairing of the two.
    struct Group {
      std::string reason;
      std::vector<const Candidate*> members;
      std::vector<std::string> labels;  // each member's strategy as shown
      std::vector<Strategy> shown;
      std::vector<std::string> balancers, strategies;
    };
    std::vector<Group> groups;
    auto add_unique = [](std::vector<std::string>& v, const std::string& s) {
      if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
    };
    // A reason that holds for every kernel of a path is shown once for the path (its kernels are not the reason).
    std::vector<std::pair<std::string, std::string>> seen;  // (reason + balancer, label)
    for (const Candidate& x : c.invalid) {
      Strategy shown = x.strategy;
      if (x.reason.find(x.strategy.kernel) == std::string::npos) shown.kernel.clear();
      const std::pair<std::string, std::string> key{x.reason + "\n" + x.strategy.balancer, strategy_text(shown)};
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(key);
      auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.reason == x.reason; });
      if (it == groups.end()) it = groups.insert(groups.end(), Group{x.reason, {}, {}, {}, {}, {}});
      it->members.push_back(&x);
      it->labels.push_back(strategy_text(shown));
      it->shown.push_back(shown);
      add_unique(it->balancers, x.strategy.balancer);
      add_unique(it->strategies, path_text(shown));
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
      return out;
    };
    std::cout << "\ncannot run:\n";
    for (const Group& g : groups) {
      std::string which;
      if (g.members.size() > 2 && g.members.size() == g.balancers.size() * g.strategies.size()) {
        which = join(g.strategies) + (g.balancers.size() == 1 ? " with " + g.balancers[0] : " with any balancer here");
      } else if (g.members.size() > 4) {
        // Not every pairing: the balancers that share the same strategies, one clause each ("A, B with x, y; C with z").
        std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> by_set;  // strategies -> balancers
        for (const std::string& b : g.balancers) {
          std::vector<std::string> mine;
          for (std::size_t i = 0; i < g.members.size(); ++i) {
            if (g.members[i]->strategy.balancer == b) add_unique(mine, path_text(g.shown[i]));
          }
          auto it = std::find_if(by_set.begin(), by_set.end(), [&](const auto& e) { return e.first == mine; });
          if (it == by_set.end()) it = by_set.insert(by_set.end(), {mine, {}});
          it->second.push_back(b);
        }
        for (const auto& [strategies, balancers] : by_set) {
          which += (which.empty() ? "" : "; ") + join(strategies) + " with " + join(balancers);
        }
      } else {
        which = join(g.labels);
      }
      std::cout << "  " << which << ": " << g.reason << "\n";
    }
  }
  if (c.filtered > 0) {
    std::cout << "\n(--runtime " << o.runtime << ": left out " << c.filtered << " candidate" << (c.filtered == 1 ? "" : "s")
              << " that only another runtime or the simulator runs, and the Ulysses families, which only the simulator runs)\n";
  }
  std::cout << "\n" << (c.ranked.empty() ? "no combination can run this workload" + nearest_world_sizes_text(w, o.world_size, hw.max_gpus()) : "winner: " + c.why) << "\n";
  print_runtime_summary(c);
  std::cout << fidelity_line(hw) << "\n";
  if (!c.ranked.empty()) {
    if (const std::string note = kernel_note(hw, c.ranked.front().strategy.kernel); !note.empty()) std::cout << note << "\n";
  }
}

// --export DIR: a folder to create, or an existing one (the plans' own checks come when each is written).
Status check_export_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) return bad_input("--export: " + dir + " exists and is not a folder");
  if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec)) {
    return bad_input("--export: " + dir + " is not empty: plans of an earlier run would mix with these; give a new or empty folder");
  }
  return Ok{};
}

// "01-cost_aware+sparse_gather-allgather-flex.json": the rank, then the strategy's text in file-name characters.
std::string plan_file_name(std::size_t rank, const Strategy& s) {
  std::string slug;
  for (const char ch : strategy_text(s)) {
    const bool keep = std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '+';
    if (keep) {
      slug += ch;
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  for (std::size_t at; (at = slug.find("-+-")) != std::string::npos;) slug.replace(at, 3, "+");
  char num[32];
  std::snprintf(num, sizeof num, "%02zu-", rank);
  return num + slug + ".json";
}

// The PLAN.json of the winner (or of the --top N best), each with its prediction, in --export DIR.
Result<std::vector<std::string>> export_plans(const Comparison& c, const Workload& w, const CompareOptions& o, const HardwareProfile& hw) {
  namespace fs = std::filesystem;
  if (c.ranked.empty()) return bad_input("--export: no candidate can run this workload, so there is no plan to write");
  const std::size_t n = o.top_given && o.top > 0 ? std::min<std::size_t>(static_cast<std::size_t>(o.top), c.ranked.size())
                                                 : (o.top_given ? c.ranked.size() : 1);
  std::error_code ec;
  fs::create_directories(o.export_dir, ec);
  if (ec) return bad_input("--export: cannot create " + o.export_dir + ": " + ec.message());
  std::vector<std::string> files;
  for (std::size_t i = 0; i < n; ++i) {
    CPSIM_ASSIGN_OR_RETURN(const Plan plan, candidate_plan(w, o.workload, c.ranked[i], o.block_size, hw, o.backward));
    const std::string path = (fs::path(o.export_dir) / plan_file_name(i + 1, c.ranked[i].strategy)).string();
    CPSIM_RETURN_IF_ERROR(save_plan(plan, path));
    files.push_back(path);
  }
  return files;
}

int run_compare(const CompareOptions& o) {
  auto workload = load_workload(o.workload);
  if (!workload) return report(workload.error());
  if (!o.csv.empty()) {
    if (auto ok = check_output_path(o.csv); !ok) return report(ok.error());
  }
  auto hw = find_hardware_profile(o.hardware);
  if (!hw) return report(hw.error());
  CompareScope scope;
  scope.kernel = o.kernel;
  auto runtime = parse_runtime_filter(o.runtime);
  if (!runtime) return report(runtime.error());
  scope.runtime = *runtime;
  if (!o.export_dir.empty()) {
    if (auto ok = check_export_dir(o.export_dir); !ok) return report(ok.error());
  }
  if (auto ok = check_kernel_name(*hw, o.kernel); !ok) return report(ok.error());
  auto comparison = compare_strategies(*workload, o.workload, o.world_size, o.block_size, *hw, o.backward, nullptr, scope);
  if (!comparison) return report(comparison.error());
  if (!o.csv.empty()) {
    if (auto ok = write_file_atomically(o.csv, comparison_csv(*comparison)); !ok) return report(ok.error());
  }
  std::optional<Explanation> explained;
  if (o.explain > 0) {
    if (static_cast<std::size_t>(o.explain) > comparison->ranked.size()) {
      return report(bad_input("--explain: row " + std::to_string(o.explain) + " does not exist (" + std::to_string(comparison->ranked.size()) +
                              " candidates can run)"));
    }
    const Candidate& c = comparison->ranked[static_cast<std::size_t>(o.explain - 1)];
    auto plan = make_plan(*workload, o.workload, c.strategy.balancer, c.plan_world_size, o.block_size);
    if (!plan) return report(plan.error());
    auto sim = simulate(*plan, c.strategy, *hw, o.backward);
    if (!sim) return report(sim.error());
    explained = explain_simulation(*sim, *plan, *hw);
  }
  std::vector<std::string> exported;
  if (!o.export_dir.empty()) {
    auto files = export_plans(*comparison, *workload, o, *hw);
    if (!files) return report(files.error());
    exported = std::move(*files);
  }
  if (o.json) {
    Json j = comparison_json(*comparison, {o.workload, o.world_size, o.hardware, o.backward, o.runtime}, *hw);
    if (!o.export_dir.empty()) j["exported"] = exported;
    if (explained) j["explain"] = explanation_json(*explained);
    std::cout << json_text(j, 2) << "\n";
  } else {
    print_comparison(*comparison, *workload, o, *hw);
    if (explained) {
      std::cout << "\n#" << o.explain << " " << strategy_text(comparison->ranked[static_cast<std::size_t>(o.explain - 1)].strategy) << ": "
                << explanation_text(*explained);
    }
    for (std::size_t i = 0; i < exported.size(); ++i) {
      const Candidate& c = comparison->ranked[i];
      std::cout << (i == 0 ? "\n" : "") << "plan written to " << exported[i] << " (#" << i + 1 << ", " << strategy_text(c.strategy) << ", "
                << runtime_name(c.runtime.runtime) << ")\n";
    }
  }
  return 0;
}

}  // namespace

Command add_compare_command(CLI::App& root) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* sub = root.add_subcommand("compare", "Rank every balancer, attention path and rotate method by predicted step time");
  sub->add_option("workload", o->workload, "WORKLOAD.json")->required()->check(non_empty_path());
  sub->add_option("--world-size,-w", o->world_size, "CP degree W (ranks)")->required()->check(decimal());
  sub->add_option("--hardware", o->hardware, "Profile name in data/hardware/ or a file path")->capture_default_str();
  sub->add_option("--block-size", o->block_size, "Tile size T")->capture_default_str()->check(decimal());
  sub->add_flag("--backward", o->backward, "Rank by forward + backward time");
  sub->add_option("--kernel,-k", o->kernel, "Only strategies on this attention kernel (see cpsim kernels; default: every kernel each path can call)");
  sub->add_option("--runtime", o->runtime, "Only candidates this runs: pytorch (PyTorch CP as shipped), cpsim (cpsim execute) or any")
      ->capture_default_str();
  sub->add_option("--export", o->export_dir, "Write the winner's PLAN.json into this folder (with --top N: the N best; --top 0: all)")
      ->check(non_empty_path());
  sub->add_option("--explain", o->explain, "Break row N's step time over the lower bound into its parts")->check(decimal(1, 1000000));
  sub->add_option("--csv", o->csv, "Write the ranking as CSV")->check(non_empty_path());
  sub->add_flag("--json", o->json, "Print the ranking as JSON");
  CLI::Option* top = sub->add_option("--top", o->top, "Rows of the ranking to print (0: all); with --export, the plans to write")->capture_default_str()->check(decimal(0, std::numeric_limits<int>::max()));
  sub->footer("Examples:\n  cpsim compare data/workloads/doc-lognormal-128k.json -w 8\n"
              "  cpsim compare data/workloads/doc-lognormal-128k.json -w 8 --runtime pytorch --export plans/");
  return {sub, [o, top] {
            o->top_given = top->count() > 0;
            return run_compare(*o);
          }};
}

}  // namespace cpsim::cli
