// Runs the schedule of a strategy and derives the metrics from its timeline.
#include "sim/simulate.h"

#include <algorithm>
#include <optional>

#include "sim/cost_model.h"
#include "core/kv_demand.h"
#include "sim/schedule.h"
#include "sim/topology.h"

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

Metrics measure(const Plan& plan, const Strategy& strategy, const Timeline& t, const CostModel& cost, bool backward,
                const std::vector<std::int64_t>& kv_demand) {
  Metrics m;
  const std::size_t w = t.ranks.size();
  m.forward_us = *std::max_element(t.forward_end_us.begin(), t.forward_end_us.end());
  m.step_us = *std::max_element(t.end_us.begin(), t.end_us.end());
  m.slowest_rank = std::max_element(t.end_us.begin(), t.end_us.end()) - t.end_us.begin();
  double busy_sum = 0, busy_max = 0;
  const double memory = peak_memory_bytes(plan, strategy, backward, kv_demand);  // the same on every rank
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
  m.lower_bound_us = cost.ideal_us(cost.useful_flops(pairs, false), plan.world_size, false);
  if (backward) m.lower_bound_us += cost.ideal_us(cost.useful_flops(pairs, true), plan.world_size, true);
  m.ratio_to_lower_bound = m.lower_bound_us > 0 ? m.step_us / m.lower_bound_us : 0;
  if (strategy.path != AttentionPath::kFlexAllgather && strategy.rotate == RotateMethod::kAllToAll && plan.world_size > 1) {
    const auto steps = ring_step_kernels(plan, strategy.path);
    const std::int64_t W = plan.world_size;
    std::int64_t unused = 0;
    for (std::int64_t r = 0; r < W; ++r) {
      for (std::int64_t i = 1; i < W; ++i) unused += steps[static_cast<std::size_t>(r * W + i)].work.empty();
    }
    m.unused_hop_share = static_cast<double>(unused) / static_cast<double>(W * (W - 1));
  }
  return m;
}

}  // namespace

double peak_memory_bytes(const Plan& plan, const Strategy& s, bool backward, const std::vector<std::int64_t>& kv_demand) {
  const auto& model = plan.workload.model;
  const double n = static_cast<double>(plan.workload.seq_len / plan.world_size * plan.workload.rows());
  const double w = static_cast<double>(plan.world_size);
  const double b = dtype_bytes(model.dtype);
  const double q = n * static_cast<double>(model.q_heads * model.head_dim) * b;  // Q, out, dout alike
  const double kv = kv_shard_bytes(plan);
  const double lse = n * static_cast<double>(model.q_heads) * 4.0;
  const double out_fp32 = q * 4.0 / b;
  const bool ring = s.path != AttentionPath::kFlexAllgather && s.path != AttentionPath::kSparseGather;
  const bool gathered = s.rotate == RotateMethod::kAllGather;  // flex always gathers
  // Forward: Q, K, V, out, LSE; K/V buffers (ring: current + incoming; all-gather: all of K/V; sparse
  // gather: the needed tokens of the rank that needs most); the ring merges out/LSE in fp32.
  double kv_buffers = gathered ? w * kv : 2.0 * kv;
  if (s.path == AttentionPath::kSparseGather) {
    const std::int64_t most = most_needed_tokens(kv_demand.empty() ? kv_demand_tokens(plan) : kv_demand, plan.world_size);
    kv_buffers = kv * static_cast<double>(most) / n;
  }
  const double forward = q + kv + q + lse + kv_buffers + (ring ? out_fp32 : 0.0);
  if (!backward) return forward / static_cast<double>(s.ulysses);
  // Backward: saved Q, K, V, out, LSE, plus dout and the K/V buffers again; the ring keeps dQ and dK/dV in
  // fp32 with one dK/dV block in flight; flex materialises full-length dK/dV before reduce-scattering.
  const double dkv32 = dkv_shard_bytes_fp32(plan);
  const double grads = ring ? out_fp32 + dkv32 + 2.0 * dkv32 : q + kv_buffers;
  // With Ulysses every tensor above holds q_heads / U (or kv_heads / U) heads of U times the tokens: the
  // same bytes per plan rank, spread over its U GPUs.
  return std::max(forward, q + kv + q + lse + q + kv_buffers + grads) / static_cast<double>(s.ulysses);
}

Result<Simulation> simulate(const Plan& plan, const Strategy& strategy, const HardwareProfile& profile, bool backward,
                            std::int64_t gather_stages) {
  if (const auto why = unsupported_reason(plan, strategy)) {
    return bad_input("--path/--rotate: " + strategy_name(strategy) + " cannot run this plan: " + *why);
  }
  CPSIM_ASSIGN_OR_RETURN(const Topology topology, Topology::build(profile, plan.world_size, strategy.ulysses));
  // A rank computes q_heads / U heads (all of them without Ulysses).
  ModelShape heads = plan.workload.model;
  heads.q_heads /= strategy.ulysses;
  heads.kv_heads /= strategy.ulysses;
  const CostModel cost(profile, heads, plan.block_size);
  const bool sparse = strategy.path == AttentionPath::kSparseGather;
  if (!sparse && gather_stages != 0) {
    return bad_input("--gather-stages: " + std::to_string(gather_stages) + " applies to the sparse_gather path only, not " +
                     std::string(path_name(strategy.path)));
  }
  if (sparse && (gather_stages < 0 || gather_stages > gather_stage_limit(plan.world_size))) {
    return bad_input("--gather-stages: " + std::to_string(gather_stages) + " is not between 1 and W - 1 = " +
                     std::to_string(gather_stage_limit(plan.world_size)) + " (0 tries 1 to " + std::to_string(kMaxGatherStages) + ")");
  }
  Simulation sim;
  sim.strategy = strategy;
  sim.backward = backward;
  // The sparse gather's schedule and its memory both need the K/V demand: computed once here.
  const std::vector<std::int64_t> demand = sparse ? kv_demand_tokens(plan) : std::vector<std::int64_t>{};
  // The stage counts to simulate (only the sparse gather has stages); the fastest is kept, fewer on a tie.
  const std::int64_t first = gather_stages > 0 ? gather_stages : 1;
  const std::int64_t last = sparse && gather_stages == 0 ? gather_stages_tried(plan.world_size) : first;
  double best_end = 0;
  std::int64_t best_stages = first;
  for (std::int64_t stages = first; stages <= last; ++stages) {
    Timeline t = run_schedule(build_schedule(plan, strategy, cost, topology, backward, demand, stages), plan.world_size,
                              profile.overlap_compute_slowdown_fraction);
    const double end = *std::max_element(t.end_us.begin(), t.end_us.end());
    if (stages > first && end >= best_end) continue;
    sim.timeline = std::move(t);
    best_end = end;
    best_stages = stages;
  }
  sim.metrics = measure(plan, strategy, sim.timeline, cost, backward, demand);
  sim.metrics.gather_stages = sparse ? best_stages : 0;
  return sim;
}

Result<Simulation> simulate_best(const Plan& plan, const HardwareProfile& profile, bool backward) {
  std::optional<Simulation> best;
  std::string reasons;
  for (const Strategy& s : all_strategies()) {
    if (const auto why = unsupported_reason(plan, s)) {
      reasons += "; " + strategy_name(s) + ": " + *why;
      continue;
    }
    CPSIM_ASSIGN_OR_RETURN(Simulation sim, simulate(plan, s, profile, backward));
    if (!best || sim.metrics.step_us < best->metrics.step_us) best = std::move(sim);
  }
  if (!best) return bad_input("--balancer: no attention path can run this plan" + reasons);
  return std::move(*best);
}

Json predicted_json(const Simulation& sim) {
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
  Json out = {{"path", path_name(sim.strategy.path)}, {"rotate", rotate_name(sim.strategy.rotate)},
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

}  // namespace cpsim
