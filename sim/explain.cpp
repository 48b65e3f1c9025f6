// A plan's step time over the lower bound, part by part (see explain.h).
#include "sim/explain.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/text_format.h"
#include "sim/cost_model.h"
#include "sim/strategy_rules.h"

namespace cpsim {

Explanation explain_simulation(const Simulation& sim, const Plan& plan, const HardwareProfile& profile) {
  const Metrics& m = sim.metrics;
  const Strategy& s = sim.strategy;
  auto kernel = strategy_kernel(profile, s);
  assert(kernel.ok());  // it was simulated on this profile
  ModelShape heads = plan.workload.model;
  heads.q_heads /= s.ulysses;
  heads.kv_heads /= s.ulysses;
  const CostModel cost(profile, heads, plan.block_size, **kernel);
  const double ranks = static_cast<double>(std::max<std::size_t>(m.ranks.size(), 1));
  const std::int64_t pairs = plan.work.total_pairs();
  // Per pass: the lower bound, and the useful work at this kernel's own rate (full tiles at its efficiency).
  double lower = 0, useful_at_kernel = 0;
  for (const bool bwd : {false, true}) {
    if (bwd && !sim.backward) continue;
    const double lb = cost.ideal_us(cost.useful_flops(pairs, bwd), plan.world_size, bwd);
    lower += lb;
    useful_at_kernel += lb * cost.best_pair_rate(bwd) / cost.efficiency(bwd);
  }
  CostParts sum;
  for (const Op& op : sim.timeline.ops) {
    for (const CostParts& p : op.parts) sum += p;
  }
  double busy_sum = 0, busy_max = 0;
  for (const RankMetrics& r : m.ranks) {
    busy_sum += r.busy_us;
    busy_max = std::max(busy_max, r.busy_us);
  }
  const double busy_mean = busy_sum / ranks;
  const double modelled = sum.total() / ranks;
  const std::string k = (*kernel)->name;
  Explanation e;
  e.lower_bound_us = lower;
  e.step_us = m.step_us;
  e.parts = {
      {"lower bound", "useful FLOPs spread evenly at the best rate of any kernel of " + profile.name, lower},
      {"kernel efficiency", k + " at " + format_number(100 * cost.efficiency(false), "%.0f%%") + " of peak" + (sim.backward ? " (backward " + format_number(100 * cost.efficiency(true), "%.0f%%") + ")" : "") +
                                " on full tiles, against the best kernel's " +
                                format_number(100 * cost.best_pair_rate(false), "%.0f%%"),
       useful_at_kernel - lower},
      {"partial tiles", "masked elements of partial tiles computed at the tile's cost", sum.tiles_us / ranks - useful_at_kernel},
      {"CTA cost", "each CTA loads Q and writes O and the LSE (" + k + "'s cost per CTA, in tiles)", sum.cta_us / ranks},
      {"longest CTA", "calls whose longest row of tiles outlasts the work spread over the SMs", sum.longest_us / ranks},
      {"launches", "one per kernel call", sum.launch_us / ranks},
      {"merges", "LSE merges of partial outputs" + std::string(sim.backward ? ", gradient accumulation and backward's extra kernels" : ""),
       sum.other_us / ranks},
  };
  if (std::abs(busy_mean - modelled) > 1e-6 * std::max(1.0, busy_mean)) {
    e.parts.push_back({"overlap slowdown", "compute slowed while communication shares the GPU (the profile's overlap fraction)", busy_mean - modelled});
  }
  e.parts.push_back({"imbalance", "the busiest rank's compute over the mean", busy_max - busy_mean});
  e.parts.push_back({"exposed communication", "waiting for K/V (or for other ranks) that compute does not hide", m.step_us - busy_max});
  return e;
}

}  // namespace cpsim
