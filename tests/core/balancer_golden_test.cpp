// Golden vectors from PyTorch's torch/distributed/tensor/experimental/_context_parallel/_load_balancer.py
// (algorithms, docstrings, pytorch/pytorch#189902; work counts derived): every balancer index vector,
// PTRR scheduling, and the per-rank / per-(rank, step) causal work they imply.
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "core/balancer.h"
#include "core/plan.h"
#include "core/test_util.h"

namespace cpsim {
namespace {

using testing::make_workload;
using Indices = std::vector<std::int64_t>;

Plan plan_or_die(const Workload& w, std::string_view balancer, std::int64_t world, std::int64_t block) {
  auto plan = make_plan(w, "golden.json", balancer, world, block);
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message);
  return std::move(plan).value();
}

std::vector<std::int64_t> rank_pairs(const Plan& p) {
  std::vector<std::int64_t> out;
  for (std::int64_t r = 0; r < p.world_size; ++r) out.push_back(p.work.rank_pairs(r));
  return out;
}

Workload causal(std::int64_t s) { return make_workload(s, MaskKind::kCausal, {{s}}); }

TEST(HeadTailGolden, S8W2) {  // _HeadTailLoadBalancer algorithm
  const Plan p = plan_or_die(causal(8), "head_tail", 2, 128);
  EXPECT_EQ(p.layouts[0].rearrange(), (Indices{0, 1, 6, 7, 2, 3, 4, 5}));
  EXPECT_EQ(p.layouts[0].restore(), (Indices{0, 1, 4, 5, 6, 7, 2, 3}));
  EXPECT_EQ(rank_pairs(p), (Indices{18, 18}));
  EXPECT_EQ(rank_pairs(plan_or_die(causal(8), "contiguous", 2, 128)), (Indices{10, 26}));
}

TEST(HeadTailGolden, S8W4) {  // _HeadTailLoadBalancer docstring vector
  const Plan p = plan_or_die(causal(8), "head_tail", 4, 128);
  EXPECT_EQ(p.layouts[0].rearrange(), (Indices{0, 7, 1, 6, 2, 5, 3, 4}));
  EXPECT_EQ(p.layouts[0].restore(), (Indices{0, 2, 4, 6, 7, 5, 3, 1}));
}

TEST(HeadTailGolden, S16W2AndS12W3) {  // _HeadTailLoadBalancer algorithm
  EXPECT_EQ(plan_or_die(causal(16), "head_tail", 2, 128).layouts[0].rearrange(),
            (Indices{0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(plan_or_die(causal(12), "head_tail", 3, 128).layouts[0].rearrange(),
            (Indices{0, 1, 10, 11, 2, 3, 8, 9, 4, 5, 6, 7}));
}

TEST(HeadTailGolden, CausalWorkS16W4) {  // derived: causal keys per query, summed per rank
  EXPECT_EQ(rank_pairs(plan_or_die(causal(16), "head_tail", 4, 128)), (Indices{34, 34, 34, 34}));
  EXPECT_EQ(rank_pairs(plan_or_die(causal(16), "contiguous", 4, 128)), (Indices{10, 26, 42, 58}));
}

TEST(HeadTailGolden, S10W2IsRejectedWithAReason) {  // _HeadTailLoadBalancer asserts S % (2W) == 0
  auto plan = make_plan(causal(10), "golden.json", "head_tail", 2, 128);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("golden.json: seq_len: 10 is not divisible by 2*W = 4"), std::string::npos)
      << plan.error().message;
}

TEST(PerDocumentGolden, Docs4_8_4W2) {  // _PerDocumentHeadTailLoadBalancer docstring example
  const Plan p = plan_or_die(make_workload(16, MaskKind::kDocumentCausal, {{4, 8, 4}}), "per_document_head_tail", 2, 128);
  EXPECT_EQ(p.layouts[0].rearrange(), (Indices{0, 3, 4, 5, 10, 11, 12, 15, 1, 2, 6, 7, 8, 9, 13, 14}));
  EXPECT_EQ(p.layouts[0].restore(), (Indices{0, 8, 9, 1, 2, 3, 10, 11, 12, 13, 4, 5, 6, 14, 15, 7}));
  EXPECT_EQ(rank_pairs(p), (Indices{28, 28}));
}

TEST(PerDocumentGolden, Docs4_12W2) {  // pytorch/pytorch#189902: the rank-major layout fixes the [26, 62] imbalance
  const Plan p = plan_or_die(make_workload(16, MaskKind::kDocumentCausal, {{4, 12}}), "per_document_head_tail", 2, 128);
  EXPECT_EQ(p.layouts[0].rearrange(), (Indices{0, 3, 4, 5, 6, 13, 14, 15, 1, 2, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(rank_pairs(p), (Indices{44, 44}));
}

TEST(PerDocumentGolden, Docs4_6W2IsRejectedWithPadding) {  // per-document balancer asserts length % (2W) == 0
  auto plan = make_plan(make_workload(10, MaskKind::kDocumentCausal, {{4, 6}}), "golden.json", "per_document_head_tail", 2, 128);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("golden.json: documents[0][1]: length 6 is not a multiple of 2*W = 4"),
            std::string::npos)
      << plan.error().message;
  EXPECT_NE(plan.error().message.find("pad it to 8 (+2 tokens)"), std::string::npos) << plan.error().message;
}

TEST(PerDocumentGolden, EqualDocumentsMatchRowWiseHeadTail) {  // derived property of the per-document layout
  const std::int64_t w = 2;
  const Plan per_doc = plan_or_die(make_workload(24, MaskKind::kDocumentCausal, {{8, 8, 8}}), "per_document_head_tail", w, 128);
  const Plan one_doc = plan_or_die(causal(8), "head_tail", w, 128);
  // Rank r's block is the concatenation over documents of head_tail(8, W)'s rank-r block, shifted.
  Indices expected;
  for (std::int64_t r = 0; r < w; ++r) {
    for (std::int64_t d = 0; d < 3; ++d) {
      for (std::int64_t i = 0; i < 4; ++i) expected.push_back(d * 8 + one_doc.layouts[0].rearrange()[static_cast<std::size_t>(r * 4 + i)]);
    }
  }
  EXPECT_EQ(per_doc.layouts[0].rearrange(), expected);
}

TEST(PtrrGolden, DocstringScheduling) {  // ptrr_scheduling docstring example
  const Indices costs{9, 14, 2, 20, 10, 15, 8, 14, 16, 19, 15, 3, 12, 1, 12, 10};
  const auto groups = ptrr_schedule(costs, 4);
  EXPECT_EQ(groups, (std::vector<Indices>{{3, 12, 13, 14}, {2, 4, 7, 9}, {1, 8, 11, 15}, {0, 5, 6, 10}}));
  Indices sums;
  for (const auto& g : groups) {
    sums.push_back(std::accumulate(g.begin(), g.end(), std::int64_t{0},
                                   [&](std::int64_t acc, std::int64_t i) { return acc + costs[static_cast<std::size_t>(i)]; }));
  }
  EXPECT_EQ(sums, (Indices{45, 45, 43, 47}));
}

TEST(PtrrGolden, DocumentMaskBlockReorder) {  // _PTRRLoadBalancer docstring; block costs come from our own block mask
  const Indices costs{1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4};
  EXPECT_EQ(ptrr_schedule(costs, 2), (std::vector<Indices>{{2, 3, 5, 6, 8, 11, 12, 13}, {0, 1, 4, 7, 9, 10, 14, 15}}));
  // Block size 1: documents of 4, 8 and 4 blocks give exactly those costs.
  const Plan p = plan_or_die(make_workload(16, MaskKind::kDocumentCausal, {{4, 8, 4}}), "ptrr", 2, 1);
  EXPECT_EQ(p.layouts[0].rearrange(), (Indices{2, 3, 5, 6, 8, 11, 12, 13, 0, 1, 4, 7, 9, 10, 14, 15}));
  EXPECT_EQ(p.layouts[0].restore(), (Indices{8, 9, 0, 1, 10, 2, 3, 11, 4, 12, 13, 5, 6, 7, 14, 15}));
  EXPECT_EQ(rank_pairs(p), (Indices{28, 28}));
  // Block size 2: each block b expands to tokens 2b, 2b+1.
  const Plan p2 = plan_or_die(make_workload(32, MaskKind::kDocumentCausal, {{8, 16, 8}}), "ptrr", 2, 2);
  const Indices head(p2.layouts[0].rearrange().begin(), p2.layouts[0].rearrange().begin() + 8);
  EXPECT_EQ(head, (Indices{4, 5, 6, 7, 10, 11, 12, 13}));
}

TEST(PtrrGolden, OneBlockForTwoRanksIsRejected) {  // ptrr_scheduling: num_tasks must be divisible by group_size
  auto plan = make_plan(causal(128), "golden.json", "ptrr", 2, 128);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("makes 1 blocks of 128, not divisible by world size 2"), std::string::npos)
      << plan.error().message;
}

TEST(PtrrGolden, SingleCausalDocumentEqualsHeadTail) {  // TestVarlenPTRRLoadBalancer in test_attention.py
  const Plan p = plan_or_die(causal(128), "ptrr", 2, 32);
  Indices expected;
  for (std::int64_t i = 0; i < 32; ++i) expected.push_back(i);
  for (std::int64_t i = 96; i < 128; ++i) expected.push_back(i);
  for (std::int64_t i = 32; i < 96; ++i) expected.push_back(i);
  EXPECT_EQ(p.layouts[0].rearrange(), expected);
  EXPECT_EQ(p.layouts[0].rearrange(), plan_or_die(causal(128), "head_tail", 2, 32).layouts[0].rearrange());
}

TEST(StripedGolden, BlocksRoundRobin) {
  EXPECT_EQ(plan_or_die(causal(16), "striped_block", 2, 2).layouts[0].rearrange(),
            (Indices{0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15}));
  // Block size 1 is token striping: rank r's token i*W+r sees i*W+r+1 keys, nearly even.
  EXPECT_EQ(plan_or_die(causal(8), "striped_block", 2, 1).layouts[0].rearrange(), (Indices{0, 2, 4, 6, 1, 3, 5, 7}));
  EXPECT_EQ(rank_pairs(plan_or_die(causal(8), "striped_block", 2, 1)), (Indices{16, 20}));
  auto odd = make_plan(causal(24), "golden.json", "striped_block", 2, 8);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message.find("not divisible by W * block size = 16"), std::string::npos);
}

TEST(StripedGolden, TokensRoundRobinWhateverTheBlockSize) {
  // Token i to rank i mod W; the block size changes the tiles, not the layout.
  for (const std::int64_t block : {1, 2, 4}) {
    const Plan p = plan_or_die(causal(8), "striped", 2, block);
    EXPECT_EQ(p.layouts[0].rearrange(), (Indices{0, 2, 4, 6, 1, 3, 5, 7})) << block;
    EXPECT_EQ(rank_pairs(p), (Indices{16, 20})) << block;
  }
  // At T = 2 a tile holds tokens W apart, so the causal diagonal cuts a tile against every source: each of
  // a rank's two Q tiles has one partial tile per source (4 per rank), one full and one empty per source.
  const Plan t2 = plan_or_die(causal(8), "striped", 2, 2);
  for (std::int64_t r = 0; r < 2; ++r) {
    EXPECT_EQ(t2.work.rank_tiles(r).partial, 4) << r;
    EXPECT_EQ(t2.work.rank_tiles(r).full, 2) << r;
  }
  // W = 3 needs S % 3 == 0 only.
  EXPECT_EQ(plan_or_die(causal(9), "striped", 3, 4).layouts[0].rearrange(), (Indices{0, 3, 6, 1, 4, 7, 2, 5, 8}));
}

TEST(RingStepGolden, PairsPerRankAndStepS16W4) {  // derived from _is_causal_behavior in _attention.py
  const Plan lb = plan_or_die(causal(16), "head_tail", 4, 128);
  for (std::int64_t r = 0; r < 4; ++r) {
    Indices steps;
    for (std::int64_t i = 0; i < 4; ++i) steps.push_back(lb.work.step_pairs(r, i));
    EXPECT_EQ(steps, (Indices{10, 8, 8, 8})) << "rank " << r;
  }
  const Plan none = plan_or_die(causal(16), "contiguous", 4, 128);
  for (std::int64_t r = 0; r < 4; ++r) {
    for (std::int64_t i = 0; i < 4; ++i) {
      const std::int64_t expected = i == 0 ? 10 : (i <= r ? 16 : 0);
      EXPECT_EQ(none.work.step_pairs(r, i), expected) << "rank " << r << " step " << i;
    }
  }
}

// The busiest rank's tile cost (full tiles 1, partial tiles `partial`) of a plan.
double busiest_tile_cost(const Plan& p, double partial) {
  double worst = 0;
  for (std::int64_t r = 0; r < p.world_size; ++r) {
    const TileCounts t = p.work.rank_tiles(r);
    worst = std::max(worst, static_cast<double>(t.full) + partial * static_cast<double>(t.partial));
  }
  return worst;
}

Workload documents(std::int64_t seq_len, std::vector<std::int64_t> docs) {
  return testing::make_workload(seq_len, MaskKind::kDocumentCausal, {std::move(docs)});
}

TEST(CostAware, NeverBusierThanPtrrAndDeterministic) {
  // Uneven documents whose edges fall inside blocks, so partial tiles matter.
  const Workload w = documents(1024, {40, 300, 24, 200, 8, 120, 332});
  for (const std::int64_t world : {2, 4, 8}) {
    const Plan ours = plan_or_die(w, "cost_aware", world, 16);
    const Plan ptrr = plan_or_die(w, "ptrr", world, 16);
    EXPECT_LE(busiest_tile_cost(ours, 1.175), busiest_tile_cost(ptrr, 1.175)) << "W " << world;
    EXPECT_EQ(plan_or_die(w, "cost_aware", world, 16).layouts[0].rearrange(), ours.layouts[0].rearrange());
  }
  // One causal document: the head-tail pairing of blocks is optimal and LPT finds an equally even split.
  const Plan causal_plan = plan_or_die(causal(64), "cost_aware", 2, 8);
  EXPECT_EQ(busiest_tile_cost(causal_plan, 1.0), busiest_tile_cost(plan_or_die(causal(64), "head_tail", 2, 8), 1.0));
  auto odd = make_plan(causal(24), "golden.json", "cost_aware", 2, 8);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message.find("not divisible by W * block size = 16"), std::string::npos);
}

TEST(DocumentHybrid, ShortDocumentsStayWholeAndLongOnesSplit) {
  // W = 4, 64 tokens per rank: the 128-token document is split over four ranks (32 tokens each); the short
  // ones then fill the remaining 32 tokens of each rank whole.
  const Workload w = documents(256, {128, 32, 20, 32, 12, 32});
  const Plan p = plan_or_die(w, "document_hybrid", 4, 8);
  const auto& rearrange = p.layouts[0].rearrange();
  auto rank_of = [&](std::int64_t pos) {
    for (std::size_t slot = 0; slot < rearrange.size(); ++slot) {
      if (rearrange[slot] == pos) return static_cast<std::int64_t>(slot) / 64;
    }
    return std::int64_t{-1};
  };
  std::int64_t start = 128;
  for (const std::int64_t len : {32, 20, 32, 12, 32}) {
    for (std::int64_t i = 1; i < len; ++i) EXPECT_EQ(rank_of(start + i), rank_of(start)) << "document at " << start;
    start += len;
  }
  std::set<std::int64_t> long_doc_ranks;
  for (std::int64_t i = 0; i < 128; ++i) long_doc_ranks.insert(rank_of(i));
  EXPECT_EQ(long_doc_ranks.size(), 4u);
  // No length needs to divide 2W (odd lengths, W = 3): every rank still gets S/W tokens and short
  // documents stay whole.
  const Plan odd_lengths = plan_or_die(documents(240, {101, 7, 13, 29, 90}), "document_hybrid", 3, 8);
  EXPECT_EQ(odd_lengths.layouts[0].shard_len(), 80);
  auto odd = make_plan(causal(30), "golden.json", "document_hybrid", 4, 8);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message.find("not divisible by world size 4"), std::string::npos);
}

}  // namespace
}  // namespace cpsim
