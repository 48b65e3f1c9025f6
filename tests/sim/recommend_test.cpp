// Tests of what makes a recommendation actionable: who runs each strategy (runtime), the compare filter on it,
// the sweep over world sizes, W beyond one node, and the explanation of a step time over the lower bound.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <tuple>

#include "sim/compare.h"
#include "sim/explain.h"
#include "sim/runtime.h"
#include "sim/sweep.h"
#include "sim_test_util.h"

namespace cpsim {
namespace {

// 131,072 tokens: four documents of 16,384 among twelve of 4,096, then one more of 16,384.
Workload documents_128k() {
  std::vector<std::int64_t> docs;
  for (std::int64_t i = 0; i < 16; ++i) docs.push_back(i % 4 == 0 ? 16384 : 4096);
  docs.push_back(16384);
  return testing::make_workload(131072, MaskKind::kDocumentCausal, {docs});
}

Strategy named(const std::string& balancer, AttentionPath path, RotateMethod rotate, const std::string& kernel, std::int64_t ulysses = 1) {
  Strategy s;
  s.balancer = balancer;
  s.path = path;
  s.rotate = rotate;
  s.kernel = kernel;
  s.ulysses = ulysses;
  return s;
}

TEST(Runtime, WhoRunsWhat) {
  const HardwareProfile gpu = testing::shipped_profile("h100-sxm-8x");
  const HardwareProfile cpu = testing::shipped_profile("cpu-threads");
  using P = AttentionPath;
  using R = RotateMethod;
  // PyTorch's own paths on its kernels, its own balancers natively and others through the plan's indices.
  EXPECT_EQ(runtime_of(named("ptrr", P::kFlexAllgather, R::kAllGather, "flex"), gpu, true).runtime, Runtime::kPyTorch);
  const RuntimeInfo adapted = runtime_of(named("cost_aware", P::kFlexAllgather, R::kAllGather, "flex"), gpu, false);
  EXPECT_EQ(adapted.runtime, Runtime::kPyTorch);
  EXPECT_NE(adapted.how.find("cpsim.torch.load_balancer"), std::string::npos);
  const RuntimeInfo ring = runtime_of(named("head_tail", P::kSdpaRing, R::kAllToAll, "cudnn"), gpu, true);
  EXPECT_EQ(ring.runtime, Runtime::kPyTorch);
  EXPECT_NE(ring.how.find("set_rotate_method(\"alltoall\")"), std::string::npos);
  // cpsim's executor runs its own kernel on the block-sparse ring; nothing runs the block-sparse paths on flex or Ulysses.
  EXPECT_EQ(runtime_of(named("ptrr", P::kSparseRing, R::kAllToAll, "cpsim"), gpu, true).runtime, Runtime::kCpsim);
  EXPECT_EQ(runtime_of(named("ptrr", P::kSparseRing, R::kAllToAll, "flex"), gpu, true).runtime, Runtime::kSimulated);
  EXPECT_EQ(runtime_of(named("ptrr", P::kSparseGather, R::kAllGather, "cpsim"), gpu, true).runtime, Runtime::kSimulated);
  EXPECT_EQ(runtime_of(named("ptrr", P::kFlexAllgather, R::kAllGather, "flex", 4), gpu, true).runtime, Runtime::kSimulated);
  // A CPU profile models cpsim's thread executor: everything without Ulysses is cpsim's.
  EXPECT_EQ(runtime_of(named("ptrr", P::kSparseGather, R::kAllGather, "cpu"), cpu, true).runtime, Runtime::kCpsim);
  EXPECT_EQ(runtime_of(named("ptrr", P::kFlexAllgather, R::kAllGather, "cpu"), cpu, true).runtime, Runtime::kCpsim);
  for (const Runtime r : {Runtime::kPyTorch, Runtime::kCpsim, Runtime::kSimulated}) EXPECT_EQ(parse_runtime(runtime_name(r)), r);
  EXPECT_FALSE(parse_runtime("torch"));
}

TEST(Runtime, CompareFiltersAndNamesTheBestPyTorchPlan) {
  const Workload w = documents_128k();
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  auto all = compare_strategies(w, "w.json", 8, 128, hw, false);
  ASSERT_TRUE(all.ok()) << all.error().message;
  const Candidate* torch = all->best_on(Runtime::kPyTorch);
  ASSERT_NE(torch, nullptr);
  EXPECT_EQ(torch->runtime.runtime, Runtime::kPyTorch);
  CompareScope scope;
  scope.runtime = Runtime::kPyTorch;
  auto only = compare_strategies(w, "w.json", 8, 128, hw, false, nullptr, scope);
  ASSERT_TRUE(only.ok());
  ASSERT_FALSE(only->ranked.empty());
  for (const Candidate& c : only->ranked) EXPECT_EQ(c.runtime.runtime, Runtime::kPyTorch) << strategy_text(c.strategy);
  EXPECT_GT(only->filtered, 0u);
  // The filtered winner is the unfiltered ranking's best PyTorch plan, at the same predicted time.
  EXPECT_EQ(strategy_text(only->ranked.front().strategy), strategy_text(torch->strategy));
  EXPECT_DOUBLE_EQ(only->ranked.front().metrics.step_us, torch->metrics.step_us);
  // Every candidate of the unfiltered ranking carries a runtime consistent with runtime_of.
  for (const Candidate& c : all->ranked) {
    const Balancer* b = find_balancer(c.strategy.balancer);
    EXPECT_EQ(c.runtime.runtime, runtime_of(c.strategy, hw, b != nullptr && b->from_pytorch()).runtime);
  }
}

TEST(Runtime, ExplicitUlyssesDegrees) {
  const Workload w = documents_128k();
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  CompareScope scope;
  scope.ulysses_degrees = {2, 8, 3};  // 3 divides neither W nor the heads: skipped
  auto c = compare_strategies(w, "w.json", 8, 128, hw, false, nullptr, scope);
  ASSERT_TRUE(c.ok());
  std::set<std::int64_t> seen;
  bool pure = false;
  for (const Candidate& x : c->ranked) {
    if (x.strategy.pure_ulysses) pure = true;
    else seen.insert(x.strategy.ulysses);
  }
  EXPECT_EQ(seen, (std::set<std::int64_t>{1, 2}));
  EXPECT_TRUE(pure);  // 8 = W: pure Ulysses
}

TEST(Topology, OneNodeProfileGrowsByNodes) {
  const Workload w = documents_128k();
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  auto c = compare_strategies(w, "w.json", 32, 128, hw, false);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->ranked.empty());
  // The capped cluster refuses more than it holds, naming the nearest W that works.
  auto capped = compare_strategies(w, "w.json", 128, 128, testing::shipped_profile("h100-sxm-ib"), false);
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.error().message.find("nearest that work: 64 (divisors of seq_len 131072 up to 64)"), std::string::npos) << capped.error().message;
}

TEST(Runtime, NoNeighbourIsSuggestedWhenWIsNotTheCause) {
  // fa3 (an SDPA backend) cannot run a document mask at any W: the hint names no other W.
  const Workload w = documents_128k();
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  CompareScope scope;
  scope.kernel = "fa3";
  auto c = compare_strategies(w, "w.json", 8, 128, hw, false, nullptr, scope);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->ranked.empty());
  EXPECT_EQ(nearest_world_sizes_text(w, 8, 1024), "");
  EXPECT_NE(nearest_world_sizes_text(w, 7, 1024), "");
  // Pure Ulysses also holds S/W tokens per GPU: a W that does not divide seq_len is refused for it as for the rings.
  const Workload odd = testing::make_workload(1030, MaskKind::kCausal, {{1030}});  // 1030 % 4 = 2
  auto u = compare_strategies(odd, "odd.json", 4, 2, hw, false);
  ASSERT_TRUE(u.ok());
  for (const Candidate& x : u->ranked) EXPECT_FALSE(x.strategy.pure_ulysses) << strategy_text(x.strategy);
  bool refused = false;
  for (const Candidate& x : u->invalid) {
    if (x.strategy.pure_ulysses) refused = x.reason.find("seq_len 1030 is not divisible by 4") != std::string::npos;
  }
  EXPECT_TRUE(refused);
}

TEST(Plan, NearestWorldSizes) {
  const Workload w = documents_128k();
  EXPECT_EQ(nearest_world_sizes(w, 7, 1024), (std::vector<std::int64_t>{4, 8}));
  EXPECT_EQ(nearest_world_sizes(w, 2048, 1024), (std::vector<std::int64_t>{1024}));
  EXPECT_EQ(nearest_world_sizes(w, 12, 8), (std::vector<std::int64_t>{8}));
  const Workload odd = testing::make_workload(12, MaskKind::kCausal, {{12}});
  EXPECT_EQ(nearest_world_sizes(odd, 5, 1024), (std::vector<std::int64_t>{4, 6}));
}

TEST(Sweep, PerWorldSizeAndRecommendations) {
  const Workload w = documents_128k();
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  SweepOptions o;
  o.world_sizes = {4, 8, 16, 7};
  o.layers = 32;
  auto s = sweep_world_sizes(w, "w.json", hw, o);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(s->rows.size(), 4u);
  for (const SweepRow& r : s->rows) {
    if (r.world_size == 7) {
      EXPECT_NE(r.error.find("nearest that work: 4 and 8"), std::string::npos) << r.error;
      continue;
    }
    ASSERT_TRUE(r.best) << r.error;
    ASSERT_TRUE(r.pytorch);
    EXPECT_EQ(r.nodes, r.world_size > 8 ? 2 : 1);
    EXPECT_LE(r.best->candidate.metrics.step_us, r.pytorch->candidate.metrics.step_us);
    EXPECT_EQ(r.pytorch->candidate.runtime.runtime, Runtime::kPyTorch);
    // tokens/s per GPU from the step time, and memory falling with W (the activations are per token).
    EXPECT_NEAR(r.best->tokens_per_s_per_gpu, 131072.0 / (r.best->candidate.metrics.step_us * 1e-6) / static_cast<double>(r.world_size), 1e-6);
    const double activations = 34.0 * 32 * 128 * 32 * 131072.0 / static_cast<double>(r.world_size);
    EXPECT_NEAR(r.best->memory_bytes, r.best->candidate.metrics.peak_memory_bytes + activations, 1.0);
  }
  EXPECT_DOUBLE_EQ(s->rows[0].best->scaling_efficiency, 1.0);  // W = 4 is the base
  // 32 layers at W = 4 need 137 GB: it does not fit in 80 GB, W = 8 does.
  EXPECT_FALSE(s->rows[0].best->fits);
  ASSERT_TRUE(s->smallest_fitting);
  EXPECT_EQ(*s->smallest_fitting, 8);
  ASSERT_TRUE(s->best_pytorch_per_gpu);
  EXPECT_NE(*s->best_pytorch_per_gpu, 4);  // recommended only among the W that fit
  EXPECT_NE(sweep_csv(*s).find("7,1,,,,,,,,,,"), std::string::npos);
}

TEST(Explain, PartsSumToTheStepTime) {
  const Workload w = documents_128k();
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  using P = AttentionPath;
  using R = RotateMethod;
  for (const bool backward : {false, true}) {
    for (const auto& [path, rotate, kernel] : {std::tuple{P::kSparseRing, R::kAllToAll, "flex"}, std::tuple{P::kSparseGather, R::kAllGather, "flex"},
                                               std::tuple{P::kFlexAllgather, R::kAllGather, "flex"}, std::tuple{P::kSparseRing, R::kAllToAll, "cpsim"}}) {
      for (const std::int64_t u : {1, 2}) {
        const Plan plan = testing::plan_for(w, "ptrr", 8 / u);
        auto sim = simulate(plan, named("ptrr", path, rotate, kernel, u), hw, backward);
        ASSERT_TRUE(sim.ok()) << sim.error().message;
        const Explanation e = explain_simulation(*sim, plan, hw);
        double sum = 0;
        for (const ExplainPart& p : e.parts) sum += p.us;
        EXPECT_NEAR(sum, sim->metrics.step_us, 1e-6 * sim->metrics.step_us) << strategy_text(sim->strategy);
        EXPECT_NEAR(e.lower_bound_us, sim->metrics.lower_bound_us, 1e-6 * e.lower_bound_us);
        EXPECT_EQ(e.parts.front().name, "lower bound");
        for (const ExplainPart& p : e.parts) {
          if (p.name != "partial tiles") EXPECT_GE(p.us, -1e-9) << p.name << " of " << strategy_text(sim->strategy);
        }
      }
    }
  }
}

TEST(Explain, ARingPaysItsMergesAndAnImbalancedPlanItsImbalance) {
  const Workload w = documents_128k();
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  auto part = [](const Explanation& e, const std::string& name) {
    for (const ExplainPart& p : e.parts) {
      if (p.name == name) return p.us;
    }
    return -1.0;
  };
  const Plan contiguous = testing::plan_for(w, "contiguous", 8);
  auto ring = simulate(contiguous, named("contiguous", AttentionPath::kSparseRing, RotateMethod::kAllToAll, "flex"), hw, false);
  ASSERT_TRUE(ring.ok());
  const Explanation e = explain_simulation(*ring, contiguous, hw);
  EXPECT_GT(part(e, "merges"), 0);
  EXPECT_GT(part(e, "imbalance"), 0.2 * e.step_us);  // contiguous on document masks: the last ranks hold the long tails
  const Plan ptrr = testing::plan_for(w, "ptrr", 8);
  auto balanced = simulate(ptrr, named("ptrr", AttentionPath::kFlexAllgather, RotateMethod::kAllGather, "flex"), hw, false);
  ASSERT_TRUE(balanced.ok());
  const Explanation b = explain_simulation(*balanced, ptrr, hw);
  EXPECT_LT(part(b, "imbalance"), 0.05 * b.step_us);
  EXPECT_EQ(part(b, "merges"), 0);  // one call over the gathered K/V: nothing to merge
}

}  // namespace
}  // namespace cpsim
