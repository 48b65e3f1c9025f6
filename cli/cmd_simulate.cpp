// `cpsim simulate`: one plan under one strategy on one hardware profile: a summary, a per-rank table with
// a text timeline, and optionally a Chrome trace (Perfetto).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/explain_text.h"
#include "cli/fidelity.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "cli/workload_text.h"
#include "core/balancer.h"
#include "core/json_fields.h"
#include "core/workload_json.h"
#include "sim/report_json.h"
#include "sim/runtime.h"
#include "sim/simulate.h"
#include "sim/strategy_rules.h"
#include "sim/trace.h"

namespace cpsim::cli {
namespace {

struct SimulateOptions {
  std::string workload;
  std::int64_t world_size = 0;
  std::string balancer;
  std::string rotate;
  std::string path;
  std::string hardware = "h100-sxm-8x";
  std::int64_t block_size = 128;
  bool backward = false;
  std::int64_t ulysses = 1;
  std::int64_t gather_stages = 0;
  std::string strategy;
  std::string kernel;
  std::string trace;
  bool json = false;
};

std::string gib(double bytes) { return fixed(bytes / (1024.0 * 1024.0 * 1024.0), 2); }

// A strip of `width` cells over [0, end]: █ compute, ▒ communication only, blank idle.
std::string timeline_strip(const Timeline& t, std::size_t rank, double end, int width) {
  std::string out;
  for (int c = 0; c < width; ++c) {
    const double a = end * c / width, b = end * (c + 1) / width;
    double compute = 0, comm = 0;
    for (const Interval& iv : t.ranks[rank]) {
      const double overlap = std::max(0.0, std::min(b, iv.end_us) - std::max(a, iv.start_us));
      (t.ops[iv.op].kind == OpKind::kCompute ? compute : comm) += overlap;
    }
    out += compute >= (b - a) / 2 ? "█" : (compute > 0 ? "▌" : (comm > 0 ? "▒" : " "));
  }
  return out;
}

// `chosen_stages`: the sparse gather's stage count was chosen by simulating several (not fixed by the user).
void print_simulation(const Simulation& sim, const Plan& plan, const HardwareProfile& hw, bool chosen_stages) {
  const Metrics& m = sim.metrics;
  const Strategy& s = sim.strategy;
  const std::int64_t gpus = s.pure_ulysses ? s.ulysses : plan.world_size * s.ulysses;
  std::string world = "world size " + std::to_string(gpus);
  if (s.pure_ulysses) {
    world += " (pure Ulysses)";
  } else if (s.ulysses > 1) {
    world += " (" + std::to_string(plan.world_size) + " ring ranks x Ulysses " + std::to_string(s.ulysses) + ")";
  }
  const Balancer* balancer = find_balancer(plan.balancer);
  const RuntimeInfo runtime = runtime_of(s, hw, balancer != nullptr && balancer->from_pytorch());
  std::cout << describe_workload(plan.workload, plan.workload_source) << "\n"
            << (s.pure_ulysses ? std::string() : "balancer " + plan.balancer + ", ") << world << ", " << path_text(s) << "; " << hw.name
            << " (" << hw.shape_text(gpus) << ")\n"
            << "runs on: " << runtime_name(runtime.runtime) << " (" << runtime.how << ")\n\n";
  std::cout << "step time " << millis(m.step_us) << " ms" << (sim.backward ? " (forward " + millis(m.forward_us) + " ms + backward)" : " (forward)")
            << "; lower bound " << millis(m.lower_bound_us) << " ms (x" << fixed(m.ratio_to_lower_bound, 2) << ")\n"
            << "compute imbalance " << fixed(m.compute_imbalance, 3) << ", exposed communication up to "
            << millis(m.max_exposed_comm_us) << " ms, peak memory " << gib(m.peak_memory_bytes) << " GiB per rank";
  if (sim.strategy.rotate == RotateMethod::kAllToAll) {
    std::cout << ", " << percent(m.unused_hop_share) << " of K/V hops unused";
  }
  if (m.gather_stages > 0) {
    std::cout << "\nremote K/V arrives in " << m.gather_stages << (m.gather_stages == 1 ? " stage" : " stages");
    if (chosen_stages) {
      std::cout << " (the fastest of 1 to " << gather_stages_tried(plan.world_size) << " simulated)";
    }
  }
  std::cout << "\n\n" << explanation_text(explain_simulation(sim, plan, hw)) << "\n";
  Table table({"rank", "busy ms", "idle ms", "comm ms", "exposed ms", "timeline (█ compute ▒ communication)"},
              {true, false, false, false, false, true});
  for (std::size_t r = 0; r < m.ranks.size(); ++r) {
    const RankMetrics& rm = m.ranks[r];
    table.add_row({std::to_string(r), millis(rm.busy_us), millis(rm.idle_us), millis(rm.comm_us), millis(rm.exposed_comm_us),
                   timeline_strip(sim.timeline, r, m.step_us, 48)});
  }
  std::cout << table.render() << "\n" << fidelity_line(hw) << "\n";
  if (const std::string note = kernel_note(hw, sim.strategy.kernel); !note.empty()) std::cout << note << "\n";
}

// The strategy of the flags: --strategy TEXT, or --balancer, --rotate, --path, --ulysses and --gather-stages.
Result<Strategy> strategy_of(const SimulateOptions& o) {
  if (!o.strategy.empty()) {
    if (!o.balancer.empty() || !o.rotate.empty() || !o.path.empty() || o.ulysses != 1 || o.gather_stages != 0) {
      return bad_input("--strategy: names the balancer, path, rotate method, Ulysses degree and stages itself; drop the other flags");
    }
    CPSIM_ASSIGN_OR_RETURN(Strategy s, parse_strategy_text(o.strategy, "--strategy"));
    CPSIM_RETURN_IF_ERROR(apply_kernel_flag(s, o.kernel));
    return s;
  }
  if (o.balancer.empty()) return bad_input("--balancer: required (or give --strategy)");
  if (o.rotate.empty()) return bad_input("--rotate: required (or give --strategy)");
  Strategy s;
  s.balancer = o.balancer;
  const auto rotate = parse_rotate(o.rotate);
  if (!rotate) return bad_input("--rotate: unknown rotate method \"" + o.rotate + "\" (expected allgather or alltoall)");
  s.rotate = *rotate;
  if (!o.path.empty()) {
    const auto path = parse_path(o.path);
    if (!path) return bad_input("--path: unknown attention path \"" + o.path + "\" (expected one of: " + path_names() + ")");
    s.path = *path;
  }
  s.ulysses = o.ulysses;
  s.gather_stages = o.gather_stages;
  s.kernel = o.kernel;
  return s;
}

int run_simulate(const SimulateOptions& o) {
  auto parsed = strategy_of(o);
  if (!parsed) return report(parsed.error());
  Strategy strategy = *parsed;
  auto workload = load_workload(o.workload);
  if (!workload) return report(workload.error());
  if (!o.trace.empty()) {
    if (auto ok = check_output_path(o.trace); !ok) return report(ok.error());
  }
  auto hw = find_hardware_profile(o.hardware);
  if (!hw) return report(hw.error());
  if (strategy.ulysses < 1 || o.world_size % strategy.ulysses != 0 || (strategy.pure_ulysses && o.world_size != strategy.ulysses)) {
    return report(bad_input((o.strategy.empty() ? "--ulysses: " : "--strategy: Ulysses degree ") + std::to_string(strategy.ulysses) +
                            (strategy.pure_ulysses ? " must equal" : " must be a positive divisor of") + " --world-size " +
                            std::to_string(o.world_size)));
  }
  // With Ulysses the balancer lays out the ring dimension: W / U ranks, one per Ulysses group.
  auto plan = make_plan(*workload, o.workload, strategy.balancer, strategy.plan_world_size(o.world_size), o.block_size);
  if (!plan) return report(plan.error());
  if (o.strategy.empty()) {
    if (o.path.empty()) strategy.path = default_path(*plan, strategy.rotate);
    const bool gather = strategy.path == AttentionPath::kSparseGather;
    if (!gather && o.gather_stages != 0) {
      return report(bad_input("--gather-stages: " + std::to_string(o.gather_stages) + " applies to the sparse_gather path only, not " +
                              std::string(path_name(strategy.path))));
    }
    const std::int64_t limit = std::max<std::int64_t>(1, plan->world_size - 1);
    if (gather && (o.gather_stages < 0 || o.gather_stages > limit)) {
      return report(bad_input("--gather-stages: " + std::to_string(o.gather_stages) + " is not between 1 and W - 1 = " + std::to_string(limit) +
                              " (0 tries 1 to " + std::to_string(kMaxGatherStages) + ")"));
    }
  }
  if (const auto why = unsupported_reason(*plan, strategy)) {
    return report(bad_input((o.strategy.empty() ? "--path/--rotate: " + path_text(strategy) : "--strategy: " + strategy_text(strategy)) +
                            " cannot run this plan: " + *why));
  }
  auto sim = simulate(*plan, strategy, *hw, o.backward);
  if (!sim) return report(sim.error());
  if (!o.trace.empty()) {
    if (auto ok = write_file_atomically(o.trace, chrome_trace_json(*sim, o.workload)); !ok) return report(ok.error());
  }
  if (o.json) {
    std::cout << json_text(simulation_json(*sim, *plan, *hw), 2) << "\n";
  } else {
    print_simulation(*sim, *plan, *hw, o.strategy.empty() && o.gather_stages == 0);
    if (!o.trace.empty()) std::cout << "\ntrace written to " << o.trace << " (open it in https://ui.perfetto.dev)\n";
  }
  return 0;
}

}  // namespace

Command add_simulate_command(CLI::App& root) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* sub = root.add_subcommand("simulate", "Predict one plan's timeline and step time on a hardware profile");
  sub->footer("Examples:\n  cpsim simulate data/workloads/doc-lognormal-128k.json -w 8 -b ptrr -r alltoall --trace trace.json\n"
              "  cpsim simulate data/workloads/doc-lognormal-128k.json -w 8 --strategy \"ptrr + flex_allgather/allgather on flex\"");
  sub->add_option("workload", o->workload, "WORKLOAD.json")->required()->check(non_empty_path());
  sub->add_option("--world-size,-w", o->world_size, "CP degree W (ranks)")->required()->check(decimal());
  sub->add_option("--balancer,-b", o->balancer, "Balancer name (see cpsim balancers); required without --strategy");
  sub->add_option("--rotate,-r", o->rotate, "How K/V move: allgather or alltoall; required without --strategy");
  sub->add_option("--path,-p", o->path, "sdpa_ring, flex_allgather, sparse_ring or sparse_gather (default: sdpa_ring where PyTorch can run it)");
  sub->add_option("--hardware", o->hardware, "Profile name in data/hardware/ or a file path")->capture_default_str();
  sub->add_option("--block-size", o->block_size, "Tile size T")->capture_default_str()->check(decimal());
  sub->add_flag("--backward", o->backward, "Simulate forward and backward");
  sub->add_option("--ulysses,-u", o->ulysses, "Ulysses degree U: a Ulysses x ring hybrid over W / U ring ranks (U = W: pure Ulysses)")->check(decimal())
      ->capture_default_str();
  sub->add_option("--gather-stages", o->gather_stages,
                  "sparse_gather: the parts each rank's remote K/V arrives in (0: the fastest of 1 to 4)")->check(decimal())
      ->capture_default_str();
  sub->add_option("--strategy,-s", o->strategy,
                  "The whole strategy as compare prints it, instead of -b/-r/-p/-u/--gather-stages: "
                  "\"BALANCER + [ulyssesU x ]PATH/ROTATE[ on KERNEL][ (N stages)]\" or \"ulyssesU[ on KERNEL]\"");
  sub->add_option("--kernel,-k", o->kernel, "Attention kernel (see cpsim kernels; default: the path's first on the profile)");
  sub->add_option("--trace", o->trace, "Write a Chrome trace JSON (Perfetto)")->check(non_empty_path());
  sub->add_flag("--json", o->json, "Print the result as JSON");
  return {sub, [o] { return run_simulate(*o); }};
}

}  // namespace cpsim::cli
