// The JSON forms of comparisons, simulations and explanations (CLI --json and the Python module).
#include "sim/report_json.h"

#include "core/balancer.h"
#include "sim/runtime.h"

namespace cpsim {

Json model_error_json(const HardwareProfile& hw) {
  if (!hw.model_error) return nullptr;
  const ModelError& e = *hw.model_error;
  return {{"points", e.points}, {"median", e.median}, {"p90", e.p90}, {"command", e.command}};
}

Json explanation_json(const Explanation& e) {
  Json parts = Json::array();
  for (const ExplainPart& p : e.parts) parts.push_back({{"part", p.name}, {"us", p.us}, {"what", p.what}});
  return {{"step_us", e.step_us}, {"lower_bound_us", e.lower_bound_us}, {"parts", parts}};
}

Json simulation_json(const Simulation& sim, const Plan& plan, const HardwareProfile& hw) {
  const Metrics& m = sim.metrics;
  const Balancer* balancer = find_balancer(plan.balancer);
  const RuntimeInfo runtime = runtime_of(sim.strategy, hw, balancer != nullptr && balancer->from_pytorch());
  Json ranks = Json::array();
  for (const RankMetrics& rm : m.ranks) {
    ranks.push_back({{"busy_us", rm.busy_us}, {"idle_us", rm.idle_us}, {"comm_us", rm.comm_us},
                     {"exposed_comm_us", rm.exposed_comm_us}, {"peak_memory_bytes", rm.peak_memory_bytes}});
  }
  return {{"workload", plan.workload_source}, {"balancer", plan.balancer}, {"world_size", plan.world_size},
          {"strategy", strategy_to_json(sim.strategy)},
          {"path", path_name(sim.strategy.path)}, {"rotate", rotate_name(sim.strategy.rotate)}, {"hardware", hw.name},
          {"backward", sim.backward}, {"step_us", m.step_us}, {"forward_us", m.forward_us},
          {"lower_bound_us", m.lower_bound_us}, {"ratio_to_lower_bound", m.ratio_to_lower_bound},
          {"compute_imbalance", m.compute_imbalance}, {"max_exposed_comm_us", m.max_exposed_comm_us},
          {"peak_memory_bytes", m.peak_memory_bytes}, {"unused_hop_share", m.unused_hop_share}, {"gather_stages", m.gather_stages},
          {"runtime", runtime_name(runtime.runtime)}, {"runtime_note", runtime.how},
          {"explain", explanation_json(explain_simulation(sim, plan, hw))},
          {"model_error", model_error_json(hw)}, {"per_rank", ranks}};
}

Json comparison_json(const Comparison& c, const CompareContext& o, const HardwareProfile& hw) {
  Json ranked = Json::array(), invalid = Json::array();
  for (const Candidate& x : c.ranked) {
    const Metrics& m = x.metrics;
    ranked.push_back({{"balancer", x.strategy.balancer}, {"path", path_name(x.strategy.path)}, {"rotate", rotate_name(x.strategy.rotate)},
                      {"ulysses", x.strategy.ulysses}, {"kernel", x.strategy.kernel}, {"strategy", strategy_text(x.strategy)}, {"pytorch", x.pytorch},
                      {"runtime", runtime_name(x.runtime.runtime)}, {"runtime_note", x.runtime.how}, {"tie", x.tie},
                      {"step_us", m.step_us}, {"forward_us", m.forward_us}, {"lower_bound_us", m.lower_bound_us},
                      {"ratio_to_lower_bound", m.ratio_to_lower_bound}, {"compute_imbalance", m.compute_imbalance},
                      {"max_exposed_comm_us", m.max_exposed_comm_us}, {"peak_memory_bytes", m.peak_memory_bytes},
                      {"unused_hop_share", m.unused_hop_share}, {"gather_stages", m.gather_stages}});
  }
  for (const Candidate& x : c.invalid) {
    invalid.push_back({{"balancer", x.strategy.balancer}, {"path", path_name(x.strategy.path)}, {"rotate", rotate_name(x.strategy.rotate)},
                       {"ulysses", x.strategy.ulysses}, {"kernel", x.strategy.kernel}, {"strategy", strategy_text(x.strategy)},
                       {"runtime", runtime_name(x.runtime.runtime)}, {"reason", x.reason}});
  }
  auto best_json = [&](Runtime r) -> Json {
    const Candidate* b = c.best_on(r);
    if (b == nullptr) return nullptr;
    return {{"strategy", strategy_text(b->strategy)}, {"step_us", b->metrics.step_us}, {"runtime_note", b->runtime.how}};
  };
  return {{"workload", o.workload}, {"world_size", o.world_size}, {"hardware", o.hardware}, {"backward", o.backward},
          {"runtime_filter", o.runtime_filter}, {"left_out_by_runtime", c.filtered},
          {"model_error", model_error_json(hw)}, {"ties", c.ties}, {"best_pytorch", best_json(Runtime::kPyTorch)},
          {"best_cpsim", best_json(Runtime::kCpsim)}, {"ranked", ranked}, {"invalid", invalid}, {"why", c.why}};
}

}  // namespace cpsim
