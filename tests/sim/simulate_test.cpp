// Schedules and metrics against the closed forms of the real code (PyTorch _context_parallel/_attention.py).
#include <gtest/gtest.h>

#include "core/json_fields.h"
#include "sim/compare.h"
#include "sim/path.h"
#include "sim/sim_test_util.h"
#include "sim/simulate.h"
#include "sim/strategy_rules.h"
#include "sim/topology.h"

namespace cpsim {
namespace {

using testing::causal_workload;
using testing::plan_for;

// (path, rotate) pairs; the balancer is the plan's (on()).
struct PathRotate {
  AttentionPath path;
  RotateMethod rotate;
};
const PathRotate kSdpaAllToAll{AttentionPath::kSdpaRing, RotateMethod::kAllToAll};
const PathRotate kSdpaAllGather{AttentionPath::kSdpaRing, RotateMethod::kAllGather};
const PathRotate kFlex{AttentionPath::kFlexAllgather, RotateMethod::kAllGather};
const PathRotate kSparse{AttentionPath::kSparseRing, RotateMethod::kAllToAll};

Strategy on(const Plan& plan, PathRotate pr) { return testing::strategy_for(plan, pr.path, pr.rotate); }

Simulation run(const Plan& plan, PathRotate s, bool backward, const std::string& hw = "h100-sxm-8x") {
  auto sim = simulate(plan, on(plan, s), testing::shipped_profile(hw), backward);
  EXPECT_TRUE(sim.ok()) << (sim.ok() ? "" : sim.error().message);
  return std::move(sim).value();
}

// Duration of the op called `name` on `rank` (0 when it did not run there).
double duration(const Simulation& sim, std::size_t rank, const std::string& name) {
  for (const Interval& iv : sim.timeline.ranks[rank]) {
    if (sim.timeline.ops[iv.op].name == name) return iv.end_us - iv.start_us;
  }
  return 0;
}

TEST(SdpaRing, CausalHeadTailGivesEqualWorkOnEveryRankAndStep) {
  const Plan plan = plan_for(causal_workload(16384), "head_tail", 8);
  const auto steps = path_model(AttentionPath::kSdpaRing).ring_steps(plan);
  for (std::int64_t i = 0; i < 8; ++i) {
    for (std::int64_t r = 1; r < 8; ++r) {
      const auto& a = steps[static_cast<std::size_t>(i)].work;
      const auto& b = steps[static_cast<std::size_t>(r * 8 + i)].work;
      EXPECT_EQ(a.full_tiles + a.partial_tiles, b.full_tiles + b.partial_tiles) << "rank " << r << " step " << i;
    }
  }
  // Pairs: c(2c+1) at step 0 and 2c^2 after, on every rank (vector 14 generalised), c = S/2W = 1024.
  for (std::int64_t r = 0; r < 8; ++r) {
    EXPECT_EQ(plan.work.step_pairs(r, 0), 1024 * 2049);
    for (std::int64_t i = 1; i < 8; ++i) EXPECT_EQ(plan.work.step_pairs(r, i), 2 * 1024 * 1024);
  }
  // Nearly equal kernel time everywhere: a step of all Q against the K/V head half runs twice the CTAs of one of the Q
  // tail against all K/V, so it pays the per-CTA cost twice (a few percent); ranks also differ in how many rows they
  // merge (PyTorch merges just the Q tail after steps i > r).
  const HardwareProfile h100 = testing::shipped_profile("h100-sxm-8x");
  const CostModel cost(h100, plan.workload.model, 128, *h100.kernel("fa2"));
  for (std::int64_t i = 0; i < 8; ++i) {
    for (std::int64_t r = 1; r < 8; ++r) {
      const double a = cost.kernel_us(steps[static_cast<std::size_t>(r * 8 + i)].work, false);
      const double b = cost.kernel_us(steps[static_cast<std::size_t>(i)].work, false);
      EXPECT_NEAR(a, b, 0.05 * b) << "rank " << r << " step " << i;
      if (i > 0 && i <= r) EXPECT_GT(a, b);  // all of Q (twice the CTAs) against rank 0's Q tail
    }
  }
  const Simulation sim = run(plan, kSdpaAllToAll, false);
  EXPECT_LT(sim.metrics.compute_imbalance, 1.15);  // equal pairs; the CTA shapes differ (above)
  EXPECT_DOUBLE_EQ(sim.metrics.unused_hop_share, 0.0);
}

TEST(SdpaRing, ContiguousCausalIsAStaircase) {
  const Plan plan = plan_for(causal_workload(8192), "contiguous", 4);
  const Simulation sim = run(plan, kSdpaAllToAll, false);
  for (std::size_t r = 0; r < 4; ++r) {
    for (std::size_t i = 0; i < 4; ++i) {
      const double d = duration(sim, r, "forward step " + std::to_string(i));
      EXPECT_EQ(d > 0, i <= r) << "rank " << r << " step " << i;  // steps after r are SKIP
    }
  }
  EXPECT_DOUBLE_EQ(sim.metrics.unused_hop_share, 0.5);  // 6 of the 12 hops land on a SKIP step
  EXPECT_GT(sim.metrics.compute_imbalance, 1.5);
}

TEST(SdpaRing, HeadTailHalvesFollowIsCausalBehavior) {  // vectors 12 and 13, W = 4
  const std::int64_t s = 4096, n = 1024, t = 128;
  const Plan plan = plan_for(causal_workload(s), "head_tail", 4, t);
  const auto steps = path_model(AttentionPath::kSdpaRing).ring_steps(plan);
  auto at = [&](std::int64_t r, std::int64_t i) { return steps[static_cast<std::size_t>(r * 4 + i)]; };
  // (r=1, i=1): all of Q against the KV head half, full merge.
  EXPECT_EQ(at(1, 1).work.full_tiles, (n / t) * (n / 2 / t));
  EXPECT_EQ(at(1, 1).merge_rows, n);
  // (r=1, i=2): the Q tail half against all of KV, partial merge.
  EXPECT_EQ(at(1, 2).work.full_tiles, (n / 2 / t) * (n / t));
  EXPECT_EQ(at(1, 2).merge_rows, n / 2);
  // (r=0, i>=1): always the Q tail.
  for (std::int64_t i = 1; i < 4; ++i) EXPECT_EQ(at(0, i).merge_rows, n / 2);
  // Step 0: the local causal block.
  EXPECT_EQ(at(2, 0).work.partial_tiles, n / t);
  EXPECT_EQ(at(2, 0).work.full_tiles, (n / t) * (n / t - 1) / 2);
}

int count_comm(const std::vector<Op>& ops) {
  int c = 0;
  for (const Op& op : ops) c += op.kind == OpKind::kComm;
  return c;
}

TEST(SdpaRing, CommunicationCountsMatchPyTorch) {  // vector 16
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  for (const std::int64_t w : {2, 4, 8}) {
    const Plan plan = plan_for(causal_workload(4096), "head_tail", w);
    const CostModel cost(hw, plan.workload.model, 128, *hw.kernel("fa2"));
    auto topo = Topology::build(hw, w);
    ASSERT_TRUE(topo.ok());
    auto schedule = [&](PathRotate pr, bool backward) {
      const Strategy s = on(plan, pr);
      return path_model(s.path).schedule(SimContext(plan, s, cost, *topo), backward, 0);
    };
    EXPECT_EQ(count_comm(schedule(kSdpaAllToAll, false)), w - 1);
    EXPECT_EQ(count_comm(schedule(kSdpaAllToAll, true)), 3 * w - 2);
    EXPECT_EQ(count_comm(schedule(kSdpaAllGather, false)), 1);
    EXPECT_EQ(count_comm(schedule(kSdpaAllGather, true)), 1 + 1 + w);
  }
}

TEST(SdpaRing, ComputeBoundRingHidesItsHops) {
  // Full mask, 16,384 tokens per rank: each step computes ~7 ms while a K/V hop takes ~0.27 ms.
  const Plan plan = plan_for(testing::make_workload(65536, MaskKind::kFull, {{65536}}), "contiguous", 4);
  const Simulation fwd = run(plan, kSdpaAllToAll, false);
  EXPECT_DOUBLE_EQ(fwd.metrics.max_exposed_comm_us, 0.0);  // hop i+1 runs under compute i
  double compute = 0;
  for (const Interval& iv : fwd.timeline.ranks[0]) {
    if (fwd.timeline.ops[iv.op].kind == OpKind::kCompute) compute += iv.end_us - iv.start_us;
  }
  EXPECT_NEAR(fwd.metrics.step_us, compute, 1e-6);
  // Backward: only the last dK/dV hop has no compute left to hide behind.
  const Simulation both = run(plan, kSdpaAllToAll, true);
  const double last_dkv = duration(both, 0, "dK/dV hop 4");
  EXPECT_GT(last_dkv, 0);
  EXPECT_NEAR(both.metrics.max_exposed_comm_us, last_dkv, 1e-6);
}

TEST(SdpaRing, AStragglerHoldsEveryRankInBackward) {
  const Plan plan = plan_for(causal_workload(16384), "contiguous", 4);
  const Simulation sim = run(plan, kSdpaAllToAll, true);
  // The dK/dV ring is a chain of collectives: every rank finishes with the slowest one.
  for (std::size_t r = 1; r < 4; ++r) EXPECT_DOUBLE_EQ(sim.timeline.end_us[r], sim.timeline.end_us[0]);
  EXPECT_GT(sim.metrics.ranks[0].idle_us, sim.metrics.ranks[3].idle_us);
}

TEST(SdpaRing, WorkedExampleOfTheCostModelDoc) {  // docs/cost-model.md, "Worked example"
  const Plan plan = plan_for(causal_workload(8192), "head_tail", 2);
  const Simulation sim = run(plan, kSdpaAllToAll, false);
  EXPECT_EQ(sim.strategy.kernel, "fa2");  // SDPA's default backend
  EXPECT_NEAR(duration(sim, 0, "K/V hop 1"), 96.2, 0.05);
  EXPECT_NEAR(duration(sim, 0, "forward step 0"), 445.2, 0.05);
  EXPECT_NEAR(duration(sim, 0, "forward step 1"), 484.6, 0.05);
  EXPECT_NEAR(duration(sim, 1, "forward step 1"), 568.4, 0.05);
  EXPECT_NEAR(sim.metrics.step_us, 1013.7, 0.05);
  EXPECT_NEAR(sim.metrics.lower_bound_us, 418.2, 0.05);
}

TEST(Memory, AllGatherKeepsAllKvAllToAllTwoShards) {  // PyTorch _AllGatherRotater vs _AllToAllRotater
  const Plan plan = plan_for(causal_workload(65536), "head_tail", 8);
  const double kv = kv_shard_bytes(plan);
  EXPECT_DOUBLE_EQ(kv, 2.0 * 8192 * 8 * 128 * 2);
  const double gather = run(plan, kSdpaAllGather, false).metrics.peak_memory_bytes;
  const double a2a = run(plan, kSdpaAllToAll, false).metrics.peak_memory_bytes;
  EXPECT_DOUBLE_EQ(gather - a2a, (8 - 2) * kv);
  EXPECT_GT(run(plan, kSdpaAllToAll, true).metrics.peak_memory_bytes, a2a);  // fp32 gradient buffers
}

TEST(Metrics, LowerBoundIsUsefulFlopsAtPeakEfficiency) {
  const Plan plan = plan_for(testing::make_workload(16384, MaskKind::kFull, {{16384}}), "contiguous", 8);
  const Simulation sim = run(plan, kFlex, false);
  const double flops = 4.0 * 128 * 32 * 16384.0 * 16384.0;
  // At the best rate of any of the profile's kernels at head dim 128 (the same yardstick for every strategy).
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  double best = 0;
  for (const KernelSpec& k : hw.kernels) {
    const KernelConstants c = k.at(false, 128);
    best = std::max(best, c.efficiency.value / std::min(1.0, c.partial_tile_cost.value));
  }
  EXPECT_NEAR(best, hw.kernel("fa3")->forward.by_hdim[1].efficiency.value, 1e-12);
  EXPECT_NEAR(sim.metrics.lower_bound_us, flops / (8 * best * 989.4e6), 1e-6);
  EXPECT_GT(sim.metrics.ratio_to_lower_bound, 1.0);
}

// With partial tiles cheaper than full ones (the CPU executor's fitted profiles: about -0.57) the bound charges
// each pair at the cheapest rate a tile allows, so no plan beats it, not even token striping, whose diagonal
// tiles are all partial and about half visible.
TEST(Metrics, NoPlanBeatsTheLowerBoundWhenPartialTilesAreCheap) {
  HardwareProfile cpu = testing::shipped_profile("cpu-threads");
  for (auto& h : cpu.kernels.front().forward.by_hdim) h.partial_tile_cost.value = 0.3;
  const Workload w = testing::make_workload(16384, MaskKind::kDocumentCausal, {{8192, 4096, 2048, 2048}});
  for (const auto& balancer : balancer_registry()) {
    auto plan = make_plan(w, "test.json", std::string(balancer->name()), 8, 128);
    if (!plan.ok()) continue;
    for (const PathRotate s : {kFlex, kSparse}) {
      auto sim = simulate(*plan, on(*plan, s), cpu, false);
      ASSERT_TRUE(sim.ok()) << sim.error().message;
      EXPECT_GE(sim->metrics.ratio_to_lower_bound, 1.0) << balancer->name() << " " << path_name(s.path);
    }
  }
}

TEST(SparseRing, StepsWithoutWorkStillPayTheirHop) {
  // Four documents of one shard each, contiguous: every rank's work is local; every hop is unused.
  const Plan plan = plan_for(testing::make_workload(8192, MaskKind::kDocumentCausal, {{2048, 2048, 2048, 2048}}), "contiguous", 4);
  const Simulation sim = run(plan, kSparse, false);
  EXPECT_DOUBLE_EQ(sim.metrics.unused_hop_share, 1.0);
  EXPECT_GT(sim.metrics.max_exposed_comm_us, 0.0);
  EXPECT_GT(duration(sim, 0, "K/V hop 3"), 0.0);
}

TEST(Simulate, RefusesWhatPyTorchCannotRun) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  const Plan doc = plan_for(testing::make_workload(8192, MaskKind::kDocumentCausal, {{4096, 4096}}), "head_tail", 4);
  auto sdpa = simulate(doc, on(doc, kSdpaAllToAll), hw, false);
  ASSERT_FALSE(sdpa.ok());
  EXPECT_NE(sdpa.error().message.find("SDPA CP takes only is_causal True/False"), std::string::npos);
  const Plan full = plan_for(testing::make_workload(8192, MaskKind::kFull, {{8192}}), "head_tail", 4);
  EXPECT_NE(simulate(full, on(full, kSdpaAllToAll), hw, false).error().message.find("load balancing requires is_causal=True"), std::string::npos);
  EXPECT_NE(simulate(full, on(full, {AttentionPath::kFlexAllgather, RotateMethod::kAllToAll}), hw, false).error().message.find("only all-gathers"),
            std::string::npos);
  const Plan small = plan_for(causal_workload(1280), "contiguous", 4);
  EXPECT_NE(simulate(small, on(small, kFlex), hw, false).error().message.find("Q_LEN 1280 is not divisible by world size 4 * BLOCK_SIZE 128"),
            std::string::npos);
  // W = 16 on the one-node profile means two nodes of it; a capped cluster refuses more than it has.
  const Plan wide = plan_for(causal_workload(16384), "contiguous", 16);
  EXPECT_TRUE(simulate(wide, on(wide, kFlex), hw, false).ok());
  const Plan wider = plan_for(causal_workload(131072), "contiguous", 128);
  EXPECT_NE(simulate(wider, on(wider, kFlex), testing::shipped_profile("h100-sxm-ib"), false).error().message.find("128 ranks need more GPUs"),
            std::string::npos);
}

TEST(Compare, RanksValidCombinationsAndExplainsTheRest) {
  const Workload w = testing::make_workload(16384, MaskKind::kDocumentCausal, {{2048, 8192, 4096, 2048}});
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  auto c = compare_strategies(w, "w.json", 4, 128, hw, false);
  ASSERT_TRUE(c.ok());
  ASSERT_FALSE(c->ranked.empty());
  for (std::size_t i = 1; i < c->ranked.size(); ++i) EXPECT_LE(c->ranked[i - 1].metrics.step_us, c->ranked[i].metrics.step_us);
  // Each (path, rotate) once per kernel its path can call: the SDPA ring on fa2, cudnn and fa3, FlexAttention CP on
  // flex, the block-sparse paths on flex and cpsim.
  std::size_t per_balancer = 0;
  for (const Strategy& s : ring_strategies("ptrr")) per_balancer += path_kernels(hw, s.path).size();
  EXPECT_EQ(per_balancer, 2 * 3 + 1 + 2 + 2u);
  // Plain and as the ring of a Ulysses-2 x ring-2 hybrid (U = 2: the largest divisor of W = 4 below it that
  // divides 8 kv heads and 8 GPUs per node), plus pure Ulysses-4 once per sparse_gather kernel.
  EXPECT_EQ(c->ranked.size() + c->invalid.size(), balancer_registry().size() * per_balancer * 2 + 2);
  std::size_t hybrids = 0, pure = 0;
  for (const Candidate& x : c->ranked) {
    hybrids += x.strategy.ulysses == 2 && x.plan_world_size == 2;
    pure += x.strategy.ulysses == 4 && x.plan_world_size == 1;
  }
  EXPECT_GT(hybrids, 0u);
  EXPECT_EQ(pure, 2u);
  for (const Candidate& x : c->invalid) EXPECT_FALSE(x.reason.empty());
  // The profile reproduces published measurements within its median error: candidates that close to #1 are ties.
  ASSERT_TRUE(hw.model_error.has_value());
  EXPECT_DOUBLE_EQ(c->model_error, hw.model_error->median);
  for (const Candidate& x : c->ranked) {
    EXPECT_EQ(x.tie, &x != &c->ranked[0] && x.metrics.step_us <= c->ranked[0].metrics.step_us * (1 + c->model_error)) << strategy_text(x.strategy);
  }
  EXPECT_EQ(c->why.rfind(strategy_text(c->ranked[0].strategy) + " is fastest", 0), 0u) << c->why;
}

// The paths are registered by name, one model each, in the order compare lists them; which ones PyTorch ships.
TEST(PathRegistry, OneModelPerPathInCompareOrder) {
  ASSERT_EQ(path_registry().size(), all_paths().size());
  for (std::size_t i = 0; i < all_paths().size(); ++i) {
    EXPECT_EQ(path_registry()[i]->path(), all_paths()[i]);
    EXPECT_EQ(path_registry()[i]->name(), path_name(all_paths()[i]));
    EXPECT_EQ(&path_model(all_paths()[i]), path_registry()[i].get());
  }
  EXPECT_TRUE(path_model(AttentionPath::kSdpaRing).from_pytorch());
  EXPECT_TRUE(path_model(AttentionPath::kFlexAllgather).from_pytorch());
  EXPECT_FALSE(path_model(AttentionPath::kSparseRing).from_pytorch());
  EXPECT_FALSE(path_model(AttentionPath::kSparseGather).from_pytorch());
  EXPECT_EQ(path_model(AttentionPath::kSparseGather).max_stages(8), 7);
  EXPECT_EQ(path_model(AttentionPath::kSparseRing).max_stages(8), 0);
  EXPECT_EQ(ring_strategies("ptrr").size(), 5u);  // sdpa_ring x 2, flex_allgather, sparse_ring, sparse_gather
}

// Every ranked row, written as PLAN.json with its simulation attached and read back, simulates to the row's step time.
TEST(Compare, EveryRowRoundTripsThroughAPlanFile) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  const Workload w = testing::make_workload(16384, MaskKind::kDocumentCausal, {{2048, 8192, 4096, 2048}});
  const Comparison c = compare_strategies(w, "w.json", 8, 128, hw, true).value();
  std::size_t ulysses = 0;
  for (const Candidate& row : c.ranked) {
    Plan plan = make_plan(w, "w.json", row.strategy.balancer, row.strategy.plan_world_size(8), 128).value();
    attach_simulation(plan, simulate(plan, row.strategy, hw, true).value(), hw);
    auto back = plan_from_json(parse_json_text(plan_to_json_text(plan), "p.json").value(), "p.json");
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_TRUE(back->strategy.has_value());
    EXPECT_EQ(*back->strategy, row.strategy) << strategy_text(row.strategy);
    EXPECT_EQ(back->world_size, row.plan_world_size);
    EXPECT_EQ(simulate(*back, *back->strategy, hw, true).value().metrics.step_us, row.metrics.step_us) << strategy_text(row.strategy);
    ulysses += row.strategy.ulysses > 1;
  }
  EXPECT_GT(ulysses, 8u);
}

}  // namespace
}  // namespace cpsim
