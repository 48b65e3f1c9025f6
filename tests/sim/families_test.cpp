// The CP families beyond PyTorch's two paths: the zero-redundancy sparse gather (K/V demand against a
// brute force), pure Ulysses and the Ulysses x ring hybrid against their closed forms.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/test_util.h"
#include "sim/compare.h"
#include "sim/cost_model.h"
#include "core/kv_demand.h"
#include "sim/sim_test_util.h"
#include "sim/simulate.h"

namespace cpsim {
namespace {

using testing::plan_for;

double op_us(const Simulation& sim, std::size_t rank, const std::string& name) {
  for (const Interval& iv : sim.timeline.ranks[rank]) {
    if (sim.timeline.ops[iv.op].name == name) return iv.end_us - iv.start_us;
  }
  return 0;
}

TEST(KvDemand, MatchesBruteForceForEveryMaskAndBalancer) {
  std::mt19937 rng(3);
  int planned = 0;
  for (const MaskKind kind : all_mask_kinds()) {
    for (int trial = 0; trial < 4; ++trial) {
      const std::int64_t s = 64;
      std::vector<std::int64_t> docs;
      for (std::int64_t left = s; left > 0;) {
        const std::int64_t len = std::min<std::int64_t>(left, 1 + static_cast<std::int64_t>(rng() % 24));
        docs.push_back(len);
        left -= len;
      }
      const Workload w = testing::make_workload(s, kind, {docs}, 6, 10);
      const auto doc_of = testing::document_ids(docs);
      for (const auto& balancer : balancer_registry()) {
        auto made = make_plan(w, "w.json", balancer->name(), 4, 4);
        if (!made) continue;  // e.g. per-document head-tail with lengths not divisible by 2W
        const Plan& plan = *made;
        ++planned;
        const auto demand = kv_demand_tokens(plan);
        const RowLayout& layout = plan.layouts[0];
        for (std::int64_t r = 0; r < 4; ++r) {
          std::set<std::int64_t> keys;
          for (std::int64_t q = 0; q < s; ++q) {
            if (layout.rank_of_position(q) != r) continue;
            for (std::int64_t k = 0; k < s; ++k) {
              if (testing::visible(w, doc_of, q, k)) keys.insert(k);
            }
          }
          std::vector<std::int64_t> expected(4, 0);
          for (const std::int64_t k : keys) ++expected[static_cast<std::size_t>(layout.rank_of_position(k))];
          const auto visible = visible_keys(plan, 0)[static_cast<std::size_t>(r)];
          for (std::int64_t src = 0; src < 4; ++src) {
            EXPECT_EQ(demand[static_cast<std::size_t>(r * 4 + src)], expected[static_cast<std::size_t>(src)])
                << mask_kind_name(kind) << " " << balancer->name() << " rank " << r << " source " << src;
            // The positions the executors send are exactly those keys.
            std::vector<std::int64_t> want;
            for (const std::int64_t k : keys) {
              if (layout.rank_of_position(k) == src) want.push_back(k);
            }
            EXPECT_EQ(positions_held(layout, visible, src), want) << mask_kind_name(kind) << " " << balancer->name();
          }
        }
      }
    }
  }
  EXPECT_GT(planned, 6 * static_cast<int>(all_mask_kinds().size()) * 4);  // most balancers plan most cases
}

// The sparse gather on `plan`, with `stages` (0: the fastest of 1 to 4).
Strategy gather(const Plan& plan, std::int64_t stages = 0) {
  return testing::strategy_for(plan, AttentionPath::kSparseGather, RotateMethod::kAllGather, 1, stages);
}

TEST(SparseGather, DocumentsThatStayOnOneRankMoveNothing) {
  // Eight documents of half a rank each: document_hybrid keeps every one whole, two per rank.
  const Workload w = testing::make_workload(4096, MaskKind::kDocumentCausal, {{512, 512, 512, 512, 512, 512, 512, 512}});
  const Plan plan = plan_for(w, "document_hybrid", 4);
  const Simulation sim = simulate(plan, gather(plan), testing::shipped_profile("h100-sxm-8x"), false).value();
  for (std::size_t r = 0; r < 4; ++r) EXPECT_EQ(op_us(sim, r, "exchange needed K/V"), 0.0);
  EXPECT_EQ(op_us(sim, 0, "attention (received K/V)"), 0.0);
  EXPECT_DOUBLE_EQ(sim.metrics.step_us, op_us(sim, 0, "attention (own K/V)"));
}

TEST(SparseGather, ContiguousCausalMovesOnlyEarlierShards) {
  const Plan plan = plan_for(testing::causal_workload(8192), "contiguous", 4);
  const auto demand = kv_demand_tokens(plan);
  for (std::int64_t r = 0; r < 4; ++r) {
    for (std::int64_t src = 0; src < 4; ++src) EXPECT_EQ(demand[static_cast<std::size_t>(r * 4 + src)], src <= r ? 2048 : 0);
  }
  // The last rank receives three shards over NVLink: latency + 3 * shard bytes / bandwidth.
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  const Simulation sim = simulate(plan, gather(plan), hw, false).value();
  const double shard = 2.0 * 2048 * 8 * 128 * 2;  // K and V, 8 kv heads, dim 128, bf16
  EXPECT_NEAR(op_us(sim, 3, "exchange needed K/V"), hw.nvlink.op(CommOp::kAllToAll).time_us(3 * shard), 1e-6);
}

TEST(Ulysses, PureUlyssesIsTwoAllToAllsAroundOneEvenKernel) {
  const Workload w = testing::make_workload(16384, MaskKind::kDocumentCausal, {{2048, 8192, 4096, 2048}});
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  const Plan whole = plan_for(w, "contiguous", 1);
  const Simulation sim = simulate(whole, Strategy::pure(8), hw, false).value();
  // Each GPU holds 16384 / 8 tokens and sends 7/8 of its Q (32 heads), K and V (8 heads each), bf16.
  const double qkv = 2048.0 * 128 * 2 * (32 + 16) * 7 / 8;
  const double out = 2048.0 * 128 * 2 * 32 * 7 / 8;
  EXPECT_NEAR(op_us(sim, 0, "Ulysses all-to-all Q/K/V"), hw.nvlink.op(CommOp::kAllToAll).time_us(qkv), 1e-6);
  EXPECT_NEAR(op_us(sim, 0, "Ulysses all-to-all out"), hw.nvlink.op(CommOp::kAllToAll).time_us(out), 1e-6);
  // The kernel covers the whole mask for 32 / 8 = 4 heads.
  ModelShape heads = w.model;
  heads.q_heads = 4;
  heads.kv_heads = 1;
  // On the sparse gather's default kernel: FlexAttention.
  EXPECT_EQ(sim.strategy.kernel, "flex");
  const CostModel cost(hw, heads, 128, *hw.kernel("flex"));
  const TileCounts t = whole.work.rank_tiles(0);
  const double kernel = cost.kernel_us({t.full, t.partial, whole.work.rank_rows(0).active_rows, whole.work.rank_rows(0).max_row_tiles, 0, 0}, false);
  EXPECT_NEAR(op_us(sim, 0, "attention (own K/V)"), kernel, 1e-9);
  EXPECT_NEAR(sim.metrics.step_us, op_us(sim, 0, "Ulysses all-to-all Q/K/V") + kernel + op_us(sim, 0, "Ulysses all-to-all out"), 1e-6);
}

TEST(Ulysses, HybridRingMovesOneUthOfTheHeadsAcrossNodes) {
  // W = 16 on the InfiniBand profile as Ulysses 8 x ring 2: the ring's two ranks sit on two nodes.
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-ib");
  const Plan ring = plan_for(testing::causal_workload(16384), "head_tail", 2);
  const Simulation sim = simulate(ring, testing::strategy_for(ring, AttentionPath::kSparseRing, RotateMethod::kAllToAll, 8), hw, false).value();
  const double kv_per_head_group = 2.0 * 8192 * 8 * 128 * 2 / 8;
  EXPECT_NEAR(op_us(sim, 0, "K/V hop 1"), hw.infiniband.op(CommOp::kP2p).time_us(kv_per_head_group), 1e-6);
  auto bad = simulate(ring, testing::strategy_for(ring, AttentionPath::kSparseRing, RotateMethod::kAllToAll, 3), hw, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("Ulysses degree 3 must divide kv_heads 8"), std::string::npos);
}

TEST(Compare, NamesPyTorchNativeCandidates) {
  const Workload w = testing::make_workload(16384, MaskKind::kCausal, {{16384}});
  const auto c = compare_strategies(w, "w.json", 4, 128, testing::shipped_profile("h100-sxm-8x"), false).value();
  for (const Candidate& x : c.ranked) {
    const bool native = find_balancer(x.strategy.balancer)->from_pytorch() && x.strategy.ulysses == 1 &&
                        (x.strategy.path == AttentionPath::kSdpaRing || x.strategy.path == AttentionPath::kFlexAllgather);
    EXPECT_EQ(x.pytorch, native) << strategy_text(x.strategy);
  }
}

TEST(SparseGather, OwnKvWorkOverlapsTheExchange) {
  // Contiguous causal, W = 4: rank 3 computes its own diagonal block while the three earlier shards arrive.
  const Plan plan = plan_for(testing::causal_workload(65536), "contiguous", 4);
  const Simulation sim = simulate(plan, gather(plan), testing::shipped_profile("h100-sxm-8x"), false).value();
  const double own = op_us(sim, 3, "attention (own K/V)"), exchange = op_us(sim, 3, "exchange needed K/V");
  const double remote = op_us(sim, 3, "attention (received K/V)");
  EXPECT_GT(own, 0);
  EXPECT_GT(exchange, 0);
  EXPECT_LT(sim.timeline.end_us[3], own + exchange + remote);  // not serial
  EXPECT_GE(sim.timeline.end_us[3] + 1e-9, std::max(own, exchange) + remote);
  EXPECT_EQ(op_us(sim, 0, "attention (received K/V)"), 0.0);  // rank 0 needs nobody's K/V
}

std::size_t count_ops(const Simulation& sim, const std::string& prefix) {
  return static_cast<std::size_t>(std::count_if(sim.timeline.ops.begin(), sim.timeline.ops.end(),
                                                [&](const Op& op) { return op.name.rfind(prefix, 0) == 0; }));
}

TEST(SparseGather, StagesPipelineTheExchangeWithCompute) {
  // Contiguous causal, W = 4, on links slow enough for the exchange to matter. Ring step 1 moves three
  // shards over all ranks (1<-0, 2<-1, 3<-2), steps 2 and 3 move three together, so 2 stages are {1}, {2, 3}.
  const Plan plan = plan_for(testing::causal_workload(8192), "contiguous", 4);
  HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  OpCurve& a2a = hw.nvlink.op(CommOp::kAllToAll);
  a2a = {0, 3, 20};  // no floor: the exchanges' sizes show
  const Simulation one = simulate(plan, gather(plan, 1), hw, false).value();
  const Simulation two = simulate(plan, gather(plan, 2), hw, false).value();
  EXPECT_EQ(two.metrics.gather_stages, 2);
  const double shard_us = 2.0 * 2048 * 8 * 128 * 2 / (20 * 1e3);
  // Stage 1: every sender and receiver moves one shard. Stage 2: rank 0 sends two (to 2 and 3), rank 3
  // receives two (from 1 and 0). One stage: rank 0 sends three, rank 3 receives three.
  EXPECT_NEAR(op_us(two, 3, "exchange needed K/V (stage 1 of 2)"), a2a.latency_us + shard_us, 1e-6);
  EXPECT_NEAR(op_us(two, 3, "exchange needed K/V (stage 2 of 2)"), a2a.latency_us + 2 * shard_us, 1e-6);
  EXPECT_NEAR(op_us(one, 3, "exchange needed K/V"), a2a.latency_us + 3 * shard_us, 1e-6);
  // Rank 3's stage kernels: one full 2048 x 2048 block (16 x 16 tiles), then two, each with a merge. The
  // first runs while stage 2 is in flight, slowed by the profile's overlap factor.
  const CostModel cost(hw, plan.workload.model, 128, *hw.kernel("flex"));
  EXPECT_NEAR(op_us(two, 3, "attention (received K/V, stage 1 of 2)"),
              (cost.kernel_us({256, 0, 16, 16, 0, 0}, false) + cost.merge_us(2048)) *
                  (1 + hw.overlap_compute_slowdown_fraction), 1e-6);
  EXPECT_NEAR(op_us(two, 3, "attention (received K/V, stage 2 of 2)"),
              cost.kernel_us({512, 0, 16, 32, 0, 0}, false) + cost.merge_us(2048), 1e-6);
  // Computing on the first shard while the others arrive beats waiting for all three.
  EXPECT_LT(two.metrics.step_us, one.metrics.step_us);
  // Backward: each stage's gradients go back after its kernel; the own K/V's tiles come last.
  const Simulation both = simulate(plan, gather(plan, 3), hw, true).value();
  EXPECT_EQ(count_ops(both, "exchange needed K/V (stage"), 3U);
  EXPECT_EQ(count_ops(both, "attention backward (received K/V, stage"), 3U);
  EXPECT_EQ(count_ops(both, "return dK/dV (stage"), 3U);
  EXPECT_EQ(count_ops(both, "attention backward (own K/V)"), 1U);
}

TEST(SparseGather, KeepsTheFastestStageCount) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-ib");
  const Workload w = testing::make_workload(32768, MaskKind::kDocumentCausal, {{12288, 3072, 9216, 2048, 6144}});
  for (const char* balancer : {"head_tail", "ptrr", "cost_aware"}) {
    for (const bool backward : {false, true}) {
      const Plan plan = plan_for(w, balancer, 8);
      const Simulation best = simulate(plan, gather(plan), hw, backward).value();
      double fastest = 1e300;
      std::int64_t fastest_stages = 0;
      for (std::int64_t k = 1; k <= kMaxGatherStages; ++k) {
        const double step = simulate(plan, gather(plan, k), hw, backward).value().metrics.step_us;
        if (step < fastest) fastest = step, fastest_stages = k;
      }
      EXPECT_DOUBLE_EQ(best.metrics.step_us, fastest) << balancer;
      EXPECT_EQ(best.metrics.gather_stages, fastest_stages) << balancer;
    }
  }
  // Out of range: a clear error, not a schedule.
  const Plan plan = plan_for(w, "ptrr", 8);
  const auto bad = simulate(plan, gather(plan, 8), hw, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("the sparse gather over 8 ranks takes 1 to 7 stages (one per other rank), not 8"), std::string::npos)
      << bad.error().message;
  const auto ring = simulate(plan, testing::strategy_for(plan, AttentionPath::kSparseRing, RotateMethod::kAllToAll, 1, 2), hw, false);
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(ring.error().message.find("stages apply to the sparse_gather path only"), std::string::npos) << ring.error().message;
}

TEST(CostAware, KeepsDocumentsTogetherWhereBalanceAllows) {
  // 32 documents of 1 to 8 blocks over 4 ranks: PTRR deals a document's blocks to different ranks;
  // cost_aware keeps documents together where balance allows, so less K/V has to move.
  std::vector<std::int64_t> docs;
  for (int i = 0; i < 4; ++i) docs.insert(docs.end(), {384, 640, 256, 768, 512, 1024, 128, 384});
  const Workload w = testing::make_workload(16384, MaskKind::kDocumentCausal, {docs});
  auto moved = [&](const char* balancer) {
    const auto demand = kv_demand_tokens(plan_for(w, balancer, 4));
    std::int64_t off_diagonal = 0;
    for (std::int64_t r = 0; r < 4; ++r) {
      for (std::int64_t src = 0; src < 4; ++src) off_diagonal += r == src ? 0 : demand[static_cast<std::size_t>(r * 4 + src)];
    }
    return off_diagonal;
  };
  EXPECT_LE(moved("cost_aware") * 2, moved("ptrr"));  // half as much, here
  EXPECT_LE(plan_for(w, "cost_aware", 4).work.tile_imbalance(), 1.05);
}

}  // namespace
}  // namespace cpsim
