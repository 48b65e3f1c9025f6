// `cpsim compare`: every (balancer, path, rotate) combination ranked by predicted step time, the ones that
// cannot run with their reason, and the winner with a one-line why. CSV and JSON for machines.
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/fidelity.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "cli/workload_text.h"
#include "core/json_fields.h"
#include "core/workload_json.h"
#include "sim/compare.h"

namespace cpsim::cli {
namespace {

struct CompareOptions {
  std::string workload;
  std::int64_t world_size = 0;
  std::string hardware = "h100-sxm-8x";
  std::int64_t block_size = 128;
  bool backward = false;
  std::string kernel;
  std::string csv;
  bool json = false;
  int top = 15;
};


Json comparison_json(const Comparison& c, const CompareOptions& o, const HardwareProfile& hw) {
  Json ranked = Json::array(), invalid = Json::array();
  for (const Candidate& x : c.ranked) {
    const Metrics& m = x.metrics;
    ranked.push_back({{"balancer", x.strategy.balancer}, {"path", path_name(x.strategy.path)}, {"rotate", rotate_name(x.strategy.rotate)},
                      {"ulysses", x.strategy.ulysses}, {"kernel", x.strategy.kernel}, {"strategy", strategy_text(x.strategy)}, {"pytorch", x.pytorch},
                      {"tie", x.tie},
                      {"step_us", m.step_us}, {"forward_us", m.forward_us}, {"lower_bound_us", m.lower_bound_us},
                      {"ratio_to_lower_bound", m.ratio_to_lower_bound}, {"compute_imbalance", m.compute_imbalance},
                      {"max_exposed_comm_us", m.max_exposed_comm_us}, {"peak_memory_bytes", m.peak_memory_bytes},
                      {"unused_hop_share", m.unused_hop_share}, {"gather_stages", m.gather_stages}});
  }
  for (const Candidate& x : c.invalid) {
    invalid.push_back({{"balancer", x.strategy.balancer}, {"path", path_name(x.strategy.path)}, {"rotate", rotate_name(x.strategy.rotate)},
                       {"ulysses", x.strategy.ulysses}, {"kernel", x.strategy.kernel}, {"strategy", strategy_text(x.strategy)},
                       {"reason", x.reason}});
  }
  return {{"workload", o.workload}, {"world_size", o.world_size}, {"hardware", o.hardware}, {"backward", o.backward},
          {"model_error", fidelity_json(hw)}, {"ties", c.ties}, {"ranked", ranked}, {"invalid", invalid}, {"why", c.why}};
}

void print_comparison(const Comparison& c, const Workload& w, const CompareOptions& o, const HardwareProfile& hw) {
  std::cout << describe_workload(w, o.workload) << "\nworld size " << o.world_size << " on " << hw.name << " ("
            << hw.gpu_model << "), " << (o.backward ? "forward + backward" : "forward") << "\n\n";
  const double best = c.ranked.empty() ? 0 : c.ranked.front().metrics.step_us;
  Table table({"#", "balancer", "path/rotate on kernel", "step ms", "", "vs best", "x lower bound", "imbalance", "exposed comm ms", "memory GiB"},
              {false, true, true, false, true, false, false, false, false, false});
  double worst = 0;
  for (const Candidate& x : c.ranked) worst = std::max(worst, x.metrics.step_us);
  std::int64_t rank = 0;
  for (const Candidate& x : c.ranked) {
    const Metrics& m = x.metrics;
    if (o.top > 0 && rank == o.top) break;
    ++rank;
    table.add_row({std::to_string(rank), x.strategy.pure_ulysses ? "-" : x.strategy.balancer, path_text(x.strategy), millis(m.step_us),
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
      if (it == groups.end()) it = groups.insert(groups.end(), Group{x.reason, {}, {}, {}, {}});
      it->members.push_back(&x);
      it->labels.push_back(strategy_text(shown));
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
      } else {
        which = join(g.labels);
      }
      std::cout << "  " << which << ": " << g.reason << "\n";
    }
  }
  std::cout << "\n" << (c.ranked.empty() ? "no combination can run this workload" : "winner: " + c.why) << "\n";
  // What PyTorch as shipped would do: its balancers on its own paths.
  for (const Candidate& x : c.ranked) {
    if (!x.pytorch) continue;
    std::cout << "PyTorch as shipped: " << strategy_text(x.strategy) << " at " << millis(x.metrics.step_us) << " ms";
    if (&x != &c.ranked.front()) std::cout << "; the winner is " << fixed(x.metrics.step_us / best, 2) << "x faster";
    std::cout << "\n";
    break;
  }
  std::cout << fidelity_line(hw) << "\n";
  if (!c.ranked.empty()) {
    if (const std::string note = kernel_note(hw, c.ranked.front().strategy.kernel); !note.empty()) std::cout << note << "\n";
  }
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
  if (!o.kernel.empty() && hw->kernel(o.kernel) == nullptr) {
    return report(bad_input("--kernel: \"" + o.kernel + "\" is not a kernel of " + hw->name + " (it has " + hw->kernel_names() + "; see cpsim kernels)"));
  }
  auto comparison = compare_strategies(*workload, o.workload, o.world_size, o.block_size, *hw, o.backward, nullptr, scope);
  if (!comparison) return report(comparison.error());
  if (!o.csv.empty()) {
    if (auto ok = write_file_atomically(o.csv, comparison_csv(*comparison)); !ok) return report(ok.error());
  }
  if (o.json) {
    std::cout << json_text(comparison_json(*comparison, o, *hw), 2) << "\n";
  } else {
    print_comparison(*comparison, *workload, o, *hw);
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
  sub->add_option("--csv", o->csv, "Write the ranking as CSV")->check(non_empty_path());
  sub->add_flag("--json", o->json, "Print the ranking as JSON");
  sub->add_option("--top", o->top, "Rows of the ranking to print (0: all)")->capture_default_str()->check(decimal(0, std::numeric_limits<int>::max()));
  return {sub, [o] { return run_compare(*o); }};
}

}  // namespace cpsim::cli
