// Runs a path's schedule (with Ulysses around it) and derives the metrics from its timeline.
#include "sim/simulate.h"

#include <algorithm>
#include <cassert>
#include <optional>

#include "sim/cost_model.h"
#include "sim/path.h"
#include "sim/strategy_rules.h"
#include "sim/ulysses.h"

namespace cpsim {
namespace {

// Length of the union of intervals.
double covered(std::vector<std::pair<double, double>> spans) {
  std::sort(spans.begin(), spans.end());
  double total = 0, end = -1e300;
  for (const auto& [a, b] : spans) {
    if (b <= end) continue;
    total += b - std::max(a, end);
    end = b;
  }
  return total;
}

// Length of `spans` not covered by `cover`.
double uncovered(const std::vector<std::pair<double, double>>& spans, const std::vector<std::pair<double, double>>& cover) {
  std::vector<std::pair<double, double>> both = spans;
  both.insert(both.end(), cover.begin(), cover.end());
  return covered(both) - covered(cover);
}

Metrics measure(const SimContext& in, const PathModel& path, const Timeline& t, bool backward) {
  const Plan& plan = in.plan;
  Metrics m;
  const std::size_t w = t.ranks.size();
  m.forward_us = *std::max_element(t.forward_end_us.begin(), t.forward_end_us.end());
  m.step_us = *std::max_element(t.end_us.begin(), t.end_us.end());
  m.slowest_rank = std::max_element(t.end_us.begin(), t.end_us.end()) - t.end_us.begin();
  double busy_sum = 0, busy_max = 0;
  const double memory = path.peak_memory_bytes(in, backward);  // the same on every rank
  for (std::size_t r = 0; r < w; ++r) {
    RankMetrics rm;
    std::vector<std::pair<double, double>> compute, comm;
    for (const Interval& iv : t.ranks[r]) {
      (t.ops[iv.op].kind == OpKind::kCompute ? compute : comm).emplace_back(iv.start_us, iv.end_us);
    }
    rm.busy_us = covered(compute);
    rm.comm_us = covered(comm);
    rm.exposed_comm_us = uncovered(comm, compute);
    rm.idle_us = m.step_us - rm.busy_us;
    rm.peak_memory_bytes = memory;
    busy_sum += rm.busy_us;
    busy_max = std::max(busy_max, rm.busy_us);
    m.max_exposed_comm_us = std::max(m.max_exposed_comm_us, rm.exposed_comm_us);
    m.peak_memory_bytes = std::max(m.peak_memory_bytes, rm.peak_memory_bytes);
    m.ranks.push_back(rm);
  }
  m.compute_imbalance = busy_sum > 0 ? busy_max / (busy_sum / static_cast<double>(w)) : 1.0;
  const std::int64_t pairs = plan.work.total_pairs();
  m.lower_bound_us = in.cost.ideal_us(in.cost.useful_flops(pairs, false), plan.world_size, false);
  if (backward) m.lower_bound_us += in.cost.ideal_us(in.cost.useful_flops(pairs, true), plan.world_size, true);
  m.ratio_to_lower_bound = m.lower_bound_us > 0 ? m.step_us / m.lower_bound_us : 0;
  const std::vector<StepKernel>& steps = in.ring_steps();
  const std::int64_t W = plan.world_size;
  if (!steps.empty() && in.strategy.rotate == RotateMethod::kAllToAll && W > 1) {
    std::int64_t unused = 0;
    for (std::int64_t r = 0; r < W; ++r) {
      for (std::int64_t i = 1; i < W; ++i) unused += steps[static_cast<std::size_t>(r * W + i)].work.empty();
    }
    m.unused_hop_share = static_cast<double>(unused) / static_cast<double>(W * (W - 1));
  }
  return m;
}

}  // namespace

std::int64_t gather_stages_tried(std::int64_t world_size) {
  return std::min(path_model(AttentionPath::kSparseGather).max_stages(world_size), kMaxGatherStages);
}

Result<const Topology*> Simulator::topology(std::int64_t world_size, std::int64_t stride) {
  const auto key = std::make_pair(world_size, stride);
  auto it = topologies_.find(key);
  if (it == topologies_.end()) {
    CPSIM_ASSIGN_OR_RETURN(Topology built, Topology::build(profile_, world_size, stride));
    it = topologies_.emplace(key, std::move(built)).first;
  }
  return &it->second;
}

Result<Simulation> Simulator::run(const Plan& plan, const Strategy& strategy, bool backward) {
  assert(strategy.balancer == plan.balancer);
  if (const auto why = unsupported_reason(plan, strategy)) {
    return bad_input("strategy: " + strategy_text(strategy) + " cannot run this plan: " + *why);
  }
  auto kernel = strategy_kernel(profile_, strategy);
  if (!kernel) return bad_input("strategy: " + strategy_text(strategy) + ": " + kernel.error().message);
  CPSIM_ASSIGN_OR_RETURN(const Topology* topology, this->topology(plan.world_size, strategy.ulysses));
  // A rank computes q_heads / U heads (all of them without Ulysses).
  ModelShape heads = plan.workload.model;
  heads.q_heads /= strategy.ulysses;
  heads.kv_heads /= strategy.ulysses;
  const CostModel cost(profile_, heads, plan.block_size, **kernel);
  Strategy resolved = strategy;
  resolved.kernel = (*kernel)->name;
  const SimContext in(plan, resolved, cost, *topology);
  const PathModel& path = path_model(strategy.path);
  // The stage counts to simulate (only the sparse gather has stages): the strategy's, or, when it leaves the
  // count open, each up to kMaxGatherStages; the fastest is kept, fewer on a tie.
  const bool staged = path.max_stages(plan.world_size) > 0;
  const std::int64_t first = strategy.gather_stages > 0 ? strategy.gather_stages : (staged ? 1 : 0);
  const std::int64_t last = strategy.gather_stages == 0 && staged ? gather_stages_tried(plan.world_size) : first;
  Simulation sim;
  sim.backward = backward;
  double best_end = 0;
  std::int64_t best_stages = first;
  for (std::int64_t stages = first; stages <= last; ++stages) {
    std::vector<Op> ops = path.schedule(in, backward, stages);
    if (strategy.ulysses > 1) ops = with_ulysses(std::move(ops), plan, strategy.ulysses, *topology);
    Timeline t = run_schedule(std::move(ops), plan.world_size, profile_.overlap_compute_slowdown_fraction);
    const double end = *std::max_element(t.end_us.begin(), t.end_us.end());
    if (stages > first && end >= best_end) continue;
    sim.timeline = std::move(t);
    best_end = end;
    best_stages = stages;
  }
  sim.strategy = resolved.with_stages(best_stages);
  sim.metrics = measure(in, path, sim.timeline, backward);
  sim.metrics.gather_stages = staged ? best_stages : 0;
  return sim;
}

Result<Simulation> simulate(const Plan& plan, const Strategy& strategy, const HardwareProfile& profile, bool backward) {
  return Simulator(profile).run(plan, strategy, backward);
}

Result<Simulation> simulate_best(const Plan& plan, const HardwareProfile& profile, bool backward, const std::string& kernel,
                                 std::optional<Runtime> runtime) {
  const Balancer* balancer = find_balancer(plan.balancer);
  const bool pytorch_balancer = balancer != nullptr && balancer->from_pytorch();
  Simulator simulator(profile);
  std::optional<Simulation> best;
  std::string reasons;
  for (Strategy s : ring_strategies(plan.balancer)) {
    if (const auto why = unsupported_reason(plan, s)) {
      reasons += "; " + path_text(s) + ": " + *why;
      continue;
    }
    bool any = false;
    for (const KernelSpec* k : path_kernels(profile, s.path)) {
      if (!kernel.empty() && k->name != kernel) continue;
      s.kernel = k->name;
      if (runtime && runtime_of(s, profile, pytorch_balancer).runtime != *runtime) continue;
      any = true;
      CPSIM_ASSIGN_OR_RETURN(Simulation sim, simulator.run(plan, s, backward));
      if (!best || sim.metrics.step_us < best->metrics.step_us) best = std::move(sim);
    }
    if (!any) {
      reasons += "; " + path_text(s) + ": " +
                 (runtime ? "not what " + std::string(runtime_name(*runtime)) + " runs" : kernel.empty() ? "no kernel of " + profile.name + " it can call" : "cannot call " + kernel);
    }
  }
  if (!best) {
    return bad_input(std::string(runtime ? "--runtime" : kernel.empty() ? "--balancer" : "--kernel") + ": no attention path can run this plan" + reasons);
  }
  return std::move(*best);
}

Result<Simulation> simulate_for_plan(const Plan& plan, const std::optional<Strategy>& strategy, const HardwareProfile& profile,
                                     bool backward, const std::string& kernel, std::optional<Runtime> runtime) {
  if (!strategy) return simulate_best(plan, profile, backward, kernel, runtime);
  Strategy s = *strategy;
  if (!kernel.empty()) {
    if (!s.kernel.empty() && s.kernel != kernel) {
      return bad_input("--kernel: " + kernel + " differs from the kernel of --strategy (" + s.kernel + "); give one of them");
    }
    s.kernel = kernel;
  }
  if (const auto why = unsupported_reason(plan, s)) return bad_input("--strategy: " + strategy_text(s) + " cannot run this plan: " + *why);
  return simulate(plan, s, profile, backward);
}

Json predicted_json(const Simulation& sim, const HardwareProfile& profile) {
  const Timeline& t = sim.timeline;
  const std::size_t w = t.ranks.size();
  // compute_us[r][i] and comm_us[r][i]: op time of step i on rank r (one-call paths use step 0), forward and,
  // when simulated, backward apart: execute prints each beside its measurement.
  Json compute[2] = {Json::array(), Json::array()}, comm[2] = {Json::array(), Json::array()};
  for (std::size_t r = 0; r < w; ++r) {
    std::vector<double> c[2] = {std::vector<double>(w, 0.0), std::vector<double>(w, 0.0)};
    std::vector<double> m[2] = {std::vector<double>(w, 0.0), std::vector<double>(w, 0.0)};
    for (const Interval& iv : t.ranks[r]) {
      const Op& op = t.ops[iv.op];
      const auto step = std::min(static_cast<std::size_t>(std::max<std::int64_t>(op.step, 0)), w - 1);
      (op.kind == OpKind::kCompute ? c : m)[op.backward ? 1 : 0][step] += iv.end_us - iv.start_us;
    }
    for (int pass = 0; pass < 2; ++pass) {
      compute[pass].push_back(c[pass]);
      comm[pass].push_back(m[pass]);
    }
  }
  Json out = {{"path", path_name(sim.strategy.path)}, {"rotate", rotate_name(sim.strategy.rotate)}, {"kernel", sim.strategy.kernel},
          {"device_kind", device_kind_name(profile.device_kind)},
          {"step_us", sim.metrics.step_us}, {"forward_us", sim.metrics.forward_us},
          {"lower_bound_us", sim.metrics.lower_bound_us}, {"forward_compute_us", compute[0]}, {"forward_comm_us", comm[0]}};
  if (sim.backward) {
    out["backward_us"] = sim.metrics.step_us - sim.metrics.forward_us;
    out["backward_compute_us"] = compute[1];
    out["backward_comm_us"] = comm[1];
  }
  if (sim.metrics.gather_stages > 0) out["gather_stages"] = sim.metrics.gather_stages;
  return out;
}

void attach_simulation(Plan& plan, const Simulation& sim, const HardwareProfile& profile) {
  assert(sim.strategy.balancer == plan.balancer);
  assert(static_cast<std::int64_t>(sim.timeline.ranks.size()) == plan.world_size);
  plan.strategy = sim.strategy;
  plan.hardware = profile.name;
  plan.predicted = predicted_json(sim, profile);
}

}  // namespace cpsim
