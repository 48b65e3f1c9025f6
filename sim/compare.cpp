// Runs every (balancer, path, rotate) combination and ranks them.
#include "sim/compare.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/text_format.h"
#include "sim/path.h"
#include "sim/strategy_rules.h"
#include "sim/ulysses.h"

namespace cpsim {
namespace {

std::string fmt_ms(double us) { return format_number(us / 1000.0, "%.3f ms"); }

double max_busy(const Metrics& m) {
  double best = 0;
  for (const auto& r : m.ranks) best = std::max(best, r.busy_us);
  return best;
}

// The winner against the runner-up: step time, then the busiest rank's compute and the exposed
// communication, the two things a strategy trades; the compute imbalance when the balancers differ.
std::string explain(const Candidate& win, const Candidate* next) {
  const Metrics& a = win.metrics;
  std::string out = strategy_text(win.strategy) + " is fastest at " + fmt_ms(a.step_us) + " (" + format_number(a.ratio_to_lower_bound, "%.2fx") +
                    " the lower bound)";
  if (next == nullptr) return out + "; it is the only combination that can run";
  if (next->tie) {
    return out + ", but " + strategy_text(next->strategy) + " is " + format_number(next->metrics.step_us / a.step_us, "%.3fx") +
           " of it: within the model's error, a tie";
  }
  const Metrics& b = next->metrics;
  out += ", " + format_number(b.step_us / a.step_us, "%.2fx") + " ahead of " + strategy_text(next->strategy) + ": busiest rank computes " +
         fmt_ms(max_busy(a)) + " vs " + fmt_ms(max_busy(b)) + ", exposed communication " + fmt_ms(a.max_exposed_comm_us) +
         " vs " + fmt_ms(b.max_exposed_comm_us);
  if (win.strategy.balancer != next->strategy.balancer) {
    out += ", compute imbalance " + format_number(a.compute_imbalance, "%.2f") + " vs " + format_number(b.compute_imbalance, "%.2f");
  }
  return out;
}

bool pytorch_native(const Balancer& b, const Strategy& s) { return b.from_pytorch() && s.ulysses == 1 && path_model(s.path).from_pytorch(); }

}  // namespace

Result<Comparison> compare_strategies(const Workload& workload, const std::string& source, std::int64_t world_size,
                                      std::int64_t block_size, const HardwareProfile& profile, bool backward,
                                      const std::function<bool()>& cancelled, const CompareScope& scope) {
  CPSIM_RETURN_IF_ERROR(check_world_size(world_size, workload, source));
  CPSIM_RETURN_IF_ERROR(check_block_size(block_size, workload, source));
  Simulator simulator(profile);
  if (auto t = simulator.topology(world_size, 1); !t) {
    return bad_input(t.error().message + nearest_world_sizes_text(workload, world_size, profile.max_gpus()));
  }
  std::vector<const Balancer*> balancers;
  for (const auto& b : balancer_registry()) {
    if (scope.balancers.empty() || std::find(scope.balancers.begin(), scope.balancers.end(), b->name()) != scope.balancers.end()) {
      balancers.push_back(b.get());
    }
  }
  for (const std::string& name : scope.balancers) {
    if (find_balancer(name) == nullptr) {
      return bad_input("--balancers: unknown balancer \"" + name + "\" (expected some of: " + balancer_names() + ")");
    }
  }
  Comparison out;
  // One balancer's plan at `ranks` ranks under each strategy of `strategies`.
  // Each strategy once per kernel its path can call (or only scope.kernel); a path with none is listed as such.
  auto with_kernels = [&](const std::vector<Strategy>& strategies) {
    std::vector<std::pair<Strategy, std::string>> out_list;  // strategy, or why it has no kernel
    for (const Strategy& s : strategies) {
      const std::vector<const KernelSpec*> kernels = path_kernels(profile, s.path);
      std::string names;
      bool any = false;
      for (const KernelSpec* k : kernels) {
        names += (names.empty() ? "" : ", ") + k->name;
        if (!scope.kernel.empty() && k->name != scope.kernel) continue;
        Strategy with = s;
        with.kernel = k->name;
        out_list.emplace_back(with, "");
        any = true;
      }
      if (!any) {
        Strategy with = s;
        with.kernel = scope.kernel;
        out_list.emplace_back(with, scope.kernel.empty() || kernels.empty()
                                        ? std::string(path_name(s.path)) + " can call no kernel of " + profile.name
                                        : std::string(path_name(s.path)) + " cannot call " + scope.kernel + " (on " + profile.name + " it runs " + names + ")");
      }
    }
    return out_list;
  };
  // The fastest simulation so far and its plan (kept only for keep_best_plan; ties keep the first, as the stable sort).
  std::shared_ptr<Plan> best_plan;
  std::optional<Simulation> best_sim;
  auto evaluate = [&](const Balancer& balancer, std::int64_t ranks, const std::vector<Strategy>& strategies) -> Status {
    auto made = make_plan(workload, source, balancer.name(), ranks, block_size);
    std::shared_ptr<Plan> plan_ptr = made ? std::make_shared<Plan>(std::move(*made)) : nullptr;
    const Plan* plan = plan_ptr.get();
    for (const auto& [s, no_kernel] : with_kernels(strategies)) {
      if (cancelled && cancelled()) return bad_input("cancelled");
      Candidate c;
      c.strategy = s;
      c.pytorch = pytorch_native(balancer, s);
      c.runtime = runtime_of(s, profile, balancer.from_pytorch());
      c.plan_world_size = ranks;
      if (plan == nullptr) {
        c.reason = made.error().message;
      } else if (const auto why = unsupported_reason(*plan, s)) {
        c.reason = *why;
      } else if (!no_kernel.empty()) {
        c.reason = no_kernel;
      } else {
        if (scope.runtime && c.runtime.runtime != *scope.runtime) {
          ++out.filtered;  // valid, but not what the user can run: counted, not simulated
          continue;
        }
        CPSIM_ASSIGN_OR_RETURN(Simulation sim, simulator.run(*plan, s, backward));
        if (scope.keep_best_plan && (!best_sim || sim.metrics.step_us < best_sim->metrics.step_us)) {
          best_plan = plan_ptr;
          best_sim = sim;
        }
        c.valid = true;
        c.strategy = sim.strategy;
        c.metrics = std::move(sim.metrics);
      }
      (c.valid ? out.ranked : out.invalid).push_back(std::move(c));
    }
    return Ok{};
  };
  // Only simulation runs Ulysses: a runtime filter that excludes it skips making those plans at all.
  const bool ulysses = scope.ulysses && (!scope.runtime || *scope.runtime == Runtime::kSimulated);
  std::vector<std::int64_t> hybrids;  // the Ulysses degrees of the hybrids
  bool pure_ulysses = ulysses && world_size > 1;
  if (ulysses && scope.ulysses_degrees.empty()) {
    if (const std::int64_t u = hybrid_ulysses_degree(world_size, workload.model, profile.gpus_per_node); u > 1) hybrids.push_back(u);
  } else if (ulysses) {
    pure_ulysses = std::find(scope.ulysses_degrees.begin(), scope.ulysses_degrees.end(), world_size) != scope.ulysses_degrees.end();
    for (const std::int64_t u : scope.ulysses_degrees) {
      if (u > 1 && u < world_size && world_size % u == 0 && !ulysses_unsupported_reason(u, workload.model, profile.gpus_per_node) &&
          std::find(hybrids.begin(), hybrids.end(), u) == hybrids.end()) {
        hybrids.push_back(u);
      }
    }
  }
  for (const Balancer* balancer : balancers) {
    const std::string name(balancer->name());
    if (auto ok = evaluate(*balancer, world_size, ring_strategies(name)); !ok) return ok.error();
    for (const std::int64_t u : hybrids) {
      std::vector<Strategy> hybrid = ring_strategies(name);
      for (Strategy& s : hybrid) s.ulysses = u;
      if (auto ok = evaluate(*balancer, world_size / u, hybrid); !ok) return ok.error();
    }
  }
  if (pure_ulysses) {
    // Pure Ulysses: every GPU attends over the whole sequence for q_heads / W heads; no layout matters.
    const Strategy pure = Strategy::pure(world_size);
    std::optional<std::string> why = ulysses_unsupported_reason(world_size, workload.model, profile.gpus_per_node);
    if (!why && workload.seq_len % world_size != 0) {
      why = "Ulysses holds S/W tokens per GPU before its all-to-all: seq_len " + std::to_string(workload.seq_len) + " is not divisible by " +
            std::to_string(world_size);
    }
    if (why) {
      Candidate c;
      c.strategy = pure;
      c.plan_world_size = 1;
      c.reason = *why;
      out.invalid.push_back(std::move(c));
    } else if (auto ok = evaluate(*find_balancer("contiguous"), 1, {pure}); !ok) {
      return ok.error();
    }
  }
  std::stable_sort(out.ranked.begin(), out.ranked.end(),
                   [](const Candidate& a, const Candidate& b) { return a.metrics.step_us < b.metrics.step_us; });
  // Without a validated error (a profile nobody set against measurements) nothing is a tie: equal times are not
  // evidence of a model's uncertainty.
  if (const auto e = profile.tie_error()) out.model_error = e->median;
  for (std::size_t i = 1; i < out.ranked.size() && out.model_error > 0; ++i) {
    Candidate& c = out.ranked[i];
    c.tie = c.metrics.step_us <= out.ranked[0].metrics.step_us * (1.0 + out.model_error);
    out.ties += c.tie;
  }
  if (best_plan) {
    out.best_plan = std::move(*best_plan);  // every other holder (evaluate's) is gone
    attach_simulation(*out.best_plan, *best_sim, profile);
  }
  if (!out.ranked.empty()) out.why = explain(out.ranked[0], out.ranked.size() > 1 ? &out.ranked[1] : nullptr);
  return out;
}

Result<Plan> candidate_plan(const Workload& workload, const std::string& source, const Candidate& candidate, std::int64_t block_size,
                            const HardwareProfile& profile, bool backward) {
  CPSIM_ASSIGN_OR_RETURN(Plan plan, make_plan(workload, source, candidate.strategy.balancer, candidate.plan_world_size, block_size));
  CPSIM_ASSIGN_OR_RETURN(const Simulation sim, simulate(plan, candidate.strategy, profile, backward));
  attach_simulation(plan, sim, profile);
  return plan;
}

const Candidate* Comparison::best_on(Runtime runtime) const {
  for (const Candidate& c : ranked) {
    if (c.runtime.runtime == runtime) return &c;
  }
  return nullptr;
}

std::string comparison_csv(const Comparison& c) {
  std::string out =
      "rank,balancer,path,rotate,ulysses,kernel,valid,step_us,forward_us,lower_bound_us,ratio_to_lower_bound,compute_imbalance,"
      "max_exposed_comm_us,peak_memory_bytes,unused_hop_share,gather_stages,tie,runtime,reason,strategy\n";
  auto head = [](const Candidate& x) {
    return x.strategy.balancer + "," + std::string(path_name(x.strategy.path)) + "," + std::string(rotate_name(x.strategy.rotate)) +
           "," + std::to_string(x.strategy.ulysses) + "," + x.strategy.kernel;
  };
  std::int64_t rank = 0;
  for (const Candidate& x : c.ranked) {
    const Metrics& m = x.metrics;
    out += std::to_string(++rank) + "," + head(x) + ",1," + format_number(m.step_us, "%.3f") + "," + format_number(m.forward_us, "%.3f") + "," +
           format_number(m.lower_bound_us, "%.3f") + "," + format_number(m.ratio_to_lower_bound, "%.4f") + "," + format_number(m.compute_imbalance, "%.4f") + "," +
           format_number(m.max_exposed_comm_us, "%.3f") + "," + format_number(m.peak_memory_bytes, "%.0f") + "," + format_number(m.unused_hop_share, "%.4f") + "," +
           std::to_string(m.gather_stages) + "," + (x.tie ? "1" : "0") + "," + std::string(runtime_name(x.runtime.runtime)) + ",," +
           csv_field(strategy_text(x.strategy)) + "\n";
  }
  for (const Candidate& x : c.invalid) {
    out += "," + head(x) + ",0,,,,,,,,,,,," + csv_field(x.reason) + "," + csv_field(strategy_text(x.strategy)) + "\n";
  }
  return out;
}

}  // namespace cpsim
