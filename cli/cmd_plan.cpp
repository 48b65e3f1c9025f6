// `cpsim plan`: split a workload over W ranks with one balancer (or compare them all) and show or
// export the per-rank work: pairs, full/partial tiles, shares and imbalance.
#include <iostream>
#include <optional>
#include <memory>

#include "cli/commands.h"
#include "cli/fidelity.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "cli/workload_text.h"
#include "core/json_fields.h"
#include "core/plan.h"
#include "core/workload_json.h"
#include "sim/runtime.h"
#include "sim/simulate.h"
#include "sim/strategy_rules.h"

namespace cpsim::cli {
namespace {

struct PlanOptions {
  std::string workload;
  std::int64_t world_size = 0;
  std::string balancer = "all";
  std::int64_t block_size = 128;
  std::string out;
  std::string rotate;
  std::string path;
  std::string strategy;
  std::string hardware = "h100-sxm-8x";
  std::string kernel;
  std::string runtime = "any";
  bool backward = false;
  bool json = false;
};

void print_plan(const Plan& plan) {
  const WorkAccount& work = plan.work;
  const std::int64_t w = work.world_size();
  std::cout << describe_workload(plan.workload, plan.workload_source) << "\n"
            << "balancer " << plan.balancer << ", world size " << w << ", tiles " << work.tile_size() << "x"
            << work.tile_size() << "\n\n";
  std::int64_t max_pairs = 0;
  for (std::int64_t r = 0; r < w; ++r) max_pairs = std::max(max_pairs, work.rank_pairs(r));
  const double total = static_cast<double>(work.total_pairs());
  const double mean_tiles = static_cast<double>(work.total_tiles().nonempty()) / static_cast<double>(w);
  Table table({"rank", "pairs", "share", "", "full tiles", "partial tiles", "tiles/mean", "pairs per ring step"},
              {true, false, false, true, false, false, false, true});
  for (std::int64_t r = 0; r < w; ++r) {
    const TileCounts t = work.rank_tiles(r);
    std::vector<std::int64_t> steps;
    for (std::int64_t i = 0; i < w; ++i) steps.push_back(work.step_pairs(r, i));
    table.add_row({std::to_string(r), with_commas(work.rank_pairs(r)),
                   percent(total > 0 ? static_cast<double>(work.rank_pairs(r)) / total : 0.0),
                   bar(static_cast<double>(work.rank_pairs(r)), static_cast<double>(max_pairs), 20),
                   with_commas(t.full), with_commas(t.partial),
                   fixed(mean_tiles > 0 ? static_cast<double>(t.nonempty()) / mean_tiles : 0.0, 3),
                   w <= 64 ? sparkline(steps) : std::string("(W > 64)")});
  }
  std::cout << table.render() << "\nimbalance (max/mean): pairs " << fixed(work.pair_imbalance(), 3)
            << ", non-empty tiles " << fixed(work.tile_imbalance(), 3) << "\n";
}

Json plan_summary_json(const Plan& plan) {
  const WorkAccount& work = plan.work;
  Json ranks = Json::array();
  for (std::int64_t r = 0; r < work.world_size(); ++r) {
    const TileCounts t = work.rank_tiles(r);
    ranks.push_back({{"rank", r}, {"pairs", work.rank_pairs(r)}, {"full_tiles", t.full}, {"partial_tiles", t.partial}});
  }
  Json out = {{"balancer", plan.balancer},
              {"world_size", plan.world_size},
              {"block_size", plan.block_size},
              {"total_pairs", work.total_pairs()},
              {"pair_imbalance", work.pair_imbalance()},
              {"tile_imbalance", work.tile_imbalance()},
              {"per_rank", std::move(ranks)}};
  if (plan.strategy) out["strategy"] = strategy_to_json(*plan.strategy);
  return out;
}

int run_compare_balancers(const PlanOptions& o, const Workload& workload) {
  Table table({"balancer", "pair imbalance", "tile imbalance", "max rank tiles", "partial share", "note"},
              {true, false, false, false, false, true});
  Json results = Json::array();
  std::string best;
  std::int64_t best_tiles = 0;
  for (const auto& balancer : balancer_registry()) {
    auto plan = make_plan(workload, o.workload, balancer->name(), o.world_size, o.block_size);
    if (!plan) {
      // A balancer that cannot serve this workload is a finding, not a failure of the comparison.
      table.add_row({std::string(balancer->name()), "-", "-", "-", "-", "not applicable: " + plan.error().message});
      results.push_back({{"balancer", balancer->name()}, {"error", plan.error().message}});
      continue;
    }
    const WorkAccount& work = plan->work;
    std::int64_t max_tiles = 0;
    for (std::int64_t r = 0; r < work.world_size(); ++r) max_tiles = std::max(max_tiles, work.rank_tiles(r).nonempty());
    const TileCounts total = work.total_tiles();
    if (best.empty() || max_tiles < best_tiles) {
      best = std::string(balancer->name());
      best_tiles = max_tiles;
    }
    table.add_row({std::string(balancer->name()), fixed(work.pair_imbalance(), 3), fixed(work.tile_imbalance(), 3),
                   with_commas(max_tiles),
                   percent(total.nonempty() > 0 ? static_cast<double>(total.partial) / static_cast<double>(total.nonempty()) : 0.0),
                   ""});
    results.push_back(plan_summary_json(*plan));
  }
  if (o.json) {
    std::cout << json_text(Json{{"workload", o.workload}, {"world_size", o.world_size}, {"balancers", results}}, 2) << "\n";
  } else {
    std::cout << describe_workload(workload, o.workload) << "\nworld size " << o.world_size << ", tiles " << o.block_size
              << "x" << o.block_size << "\n\n"
              << table.render();
    if (!best.empty()) {
      std::cout << "\nfewest tiles on the busiest rank: " << best << " (" << with_commas(best_tiles)
                << ")\n";
    }
  }
  return 0;
}

// Records the strategy a plan runs with (given, or the fastest one for this balancer) and its prediction.
// `fidelity`: what the prediction is worth (fidelity_line), printed under it.
Status attach_strategy(Plan& plan, const PlanOptions& o, const std::optional<Strategy>& given, std::string* fidelity) {
  CPSIM_ASSIGN_OR_RETURN(const HardwareProfile hw, find_hardware_profile(o.hardware));
  std::optional<Simulation> sim;
  if (given || o.rotate.empty()) {
    if (!given && !o.path.empty()) return bad_input("--path: needs --rotate as well");
    CPSIM_ASSIGN_OR_RETURN(const std::optional<Runtime> runtime, parse_runtime_filter(o.runtime));
    CPSIM_ASSIGN_OR_RETURN(sim, simulate_for_plan(plan, given, hw, o.backward, o.kernel, given ? std::nullopt : runtime));
  } else {
    const auto rotate = parse_rotate(o.rotate);
    if (!rotate) return bad_input("--rotate: unknown rotate method \"" + o.rotate + "\" (expected allgather or alltoall)");
    Strategy s;
    s.balancer = plan.balancer;
    s.rotate = *rotate;
    s.path = default_path(plan, *rotate);
    if (!o.path.empty()) {
      const auto parsed = parse_path(o.path);
      if (!parsed) return bad_input("--path: unknown attention path \"" + o.path + "\" (expected one of: " + path_names() + ")");
      s.path = *parsed;
    }
    if (const auto why = unsupported_reason(plan, s)) {
      return bad_input("--path/--rotate: " + path_text(s) + " cannot run this plan: " + *why);
    }
    s.kernel = o.kernel;
    CPSIM_ASSIGN_OR_RETURN(sim, simulate(plan, s, hw, o.backward));
  }
  attach_simulation(plan, *sim, hw);
  const Balancer* balancer = find_balancer(plan.balancer);
  const RuntimeInfo runtime = runtime_of(sim->strategy, hw, balancer != nullptr && balancer->from_pytorch());
  *fidelity = "runs on: " + std::string(runtime_name(runtime.runtime)) + " (" + runtime.how + ")\n" + fidelity_line(hw);
  if (const std::string note = kernel_note(hw, sim->strategy.kernel); !note.empty()) *fidelity += "\n" + note;
  return Ok{};
}

// `--strategy TEXT` (a row of compare): the strategy, checked against the other flags and the world size.
Result<std::optional<Strategy>> strategy_flag(const PlanOptions& o) {
  if (o.strategy.empty()) return std::optional<Strategy>();
  if (!o.rotate.empty() || !o.path.empty()) return bad_input("--strategy: names the path and rotate method itself; drop --rotate/--path");
  CPSIM_ASSIGN_OR_RETURN(const Strategy s, parse_strategy_text(o.strategy, "--strategy"));
  if (o.balancer != "all" && o.balancer != s.balancer) {
    return bad_input("--balancer: " + o.balancer + " differs from the balancer of --strategy (" + s.balancer + "); give one of them");
  }
  CPSIM_RETURN_IF_ERROR(check_strategy_world_size(s, o.world_size));
  return std::optional<Strategy>(s);
}

int run_plan(const PlanOptions& o) {
  auto workload = load_workload(o.workload);
  if (!workload) return report(workload.error());
  if (!o.out.empty()) {
    if (auto ok = check_output_path(o.out); !ok) return report(ok.error());
  }
  auto given = strategy_flag(o);
  if (!given) return report(given.error());
  const std::string balancer = *given ? (*given)->balancer : o.balancer;
  if (balancer == "all") {
    if (!o.out.empty()) return report(bad_input("--out: exporting a plan needs one --balancer (or --strategy), not \"all\""));
    if (auto ok = check_world_size(o.world_size, *workload, o.workload); !ok) return report(ok.error());
    if (auto ok = check_block_size(o.block_size, *workload, o.workload); !ok) return report(ok.error());
    return run_compare_balancers(o, *workload);
  }
  if (o.backward && o.out.empty() && o.rotate.empty() && !*given) {
    return report(bad_input("--backward: applies to the recorded prediction, so needs --out, --rotate or --strategy"));
  }
  if (!o.kernel.empty() && o.out.empty() && o.rotate.empty() && !*given) {
    return report(bad_input("--kernel: applies to the recorded prediction, so needs --out, --rotate or --strategy"));
  }
  if (auto ok = check_world_size(o.world_size, *workload, o.workload); !ok) return report(ok.error());
  const std::int64_t ranks = *given ? (*given)->plan_world_size(o.world_size) : o.world_size;
  auto plan = make_plan(*workload, o.workload, balancer, ranks, o.block_size);
  if (!plan) return report(plan.error());
  std::string fidelity;
  if (!o.out.empty() || !o.rotate.empty() || *given) {
    if (auto ok = attach_strategy(*plan, o, *given, &fidelity); !ok) return report(ok.error());
  }
  if (o.json) {
    std::cout << json_text(plan_summary_json(*plan), 2) << "\n";
  } else {
    print_plan(*plan);
  }
  if (!o.out.empty()) {
    if (auto ok = save_plan(*plan, o.out); !ok) return report(ok.error());
    if (!o.json) {
      std::cout << "plan written to " << o.out << " (" << path_text(*plan->strategy) << ", predicted "
                << fixed(plan->predicted["step_us"].get<double>() / 1000.0, 3) << " ms " << (o.backward ? "forward + backward" : "forward")
                << " on " << plan->hardware << ")\n" << fidelity << "\n";
    }
  }
  return 0;
}

}  // namespace

Command add_plan_command(CLI::App& root) {
  auto o = std::make_shared<PlanOptions>();
  CLI::App* sub = root.add_subcommand("plan", "Split a workload over W ranks and show each rank's work");
  sub->footer("Examples:\n  cpsim plan data/workloads/doc-lognormal-128k.json -w 8\n"
              "  cpsim plan data/workloads/doc-lognormal-128k.json -w 8 -b ptrr --runtime pytorch -o plan.json");
  sub->add_option("workload", o->workload, "WORKLOAD.json")->required()->check(non_empty_path());
  sub->add_option("--world-size,-w", o->world_size, "CP degree W (ranks)")->required()->check(decimal());
  sub->add_option("--balancer,-b", o->balancer, "Balancer name, or \"all\" to compare every balancer")->capture_default_str();
  sub->add_option("--block-size", o->block_size, "Tile and BlockMask block size T")->capture_default_str()->check(decimal());
  sub->add_option("--out,-o", o->out, "Write PLAN.json (indices and per-rank/per-step work)")->check(non_empty_path());
  sub->add_option("--rotate,-r", o->rotate, "Record this rotate method (default with --out: the fastest strategy)");
  sub->add_option("--path,-p", o->path, "Record this attention path (with --rotate)");
  sub->add_option("--strategy,-s", o->strategy,
                  "Record this strategy, as compare prints it: \"BALANCER + [ulyssesU x ]PATH/ROTATE[ on KERNEL][ (N stages)]\" or \"ulyssesU\"; "
                  "with Ulysses the plan has W / U ranks");
  sub->add_option("--hardware", o->hardware, "Hardware profile for the recorded prediction")->capture_default_str();
  sub->add_option("--runtime", o->runtime, "With --out, the fastest strategy this runs: pytorch, cpsim or any")->capture_default_str();
  sub->add_option("--kernel,-k", o->kernel, "Attention kernel for the recorded prediction (see cpsim kernels; default: the fastest)");
  sub->add_flag("--backward", o->backward, "Predict (and choose the fastest strategy by) forward + backward");
  sub->add_flag("--json", o->json, "Print a machine-readable summary instead of the table");
  return {sub, [o] { return run_plan(*o); }};
}

}  // namespace cpsim::cli
