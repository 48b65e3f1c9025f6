// Work accounting: closed-form cases a reader can check by hand, imbalance, and tile fragmentation.
#include <gtest/gtest.h>

#include "core/plan.h"
#include "core/test_util.h"

namespace cpsim {
namespace {

using testing::make_workload;

TEST(WorkAccount, FullMaskIsAllFullTiles) {
  const auto plan = make_plan(make_workload(64, MaskKind::kFull, {{64}}), "t", "contiguous", 4, 8);
  ASSERT_TRUE(plan.ok());
  for (std::int64_t r = 0; r < 4; ++r) {
    EXPECT_EQ(plan->work.rank_pairs(r), 16 * 64);
    EXPECT_EQ(plan->work.rank_tiles(r).full, 2 * 8);  // 2 Q tiles x 8 KV tiles
    EXPECT_EQ(plan->work.rank_tiles(r).partial, 0);
  }
  EXPECT_DOUBLE_EQ(plan->work.pair_imbalance(), 1.0);
}

TEST(WorkAccount, CausalContiguousIsAStaircase) {
  const auto plan = make_plan(make_workload(64, MaskKind::kCausal, {{64}}), "t", "contiguous", 4, 16);
  ASSERT_TRUE(plan.ok());
  // One 16x16 tile per (rank, step): the diagonal one partial, the ones below it full, above it empty.
  for (std::int64_t r = 0; r < 4; ++r) {
    EXPECT_EQ(plan->work.step_tiles(r, 0).partial, 1);
    for (std::int64_t i = 1; i < 4; ++i) EXPECT_EQ(plan->work.step_tiles(r, i).full, i <= r ? 1 : 0);
  }
  EXPECT_DOUBLE_EQ(plan->work.pair_imbalance(), (16.0 * 17 / 2 + 3 * 256) / (64.0 * 65 / 2 / 4));
}

TEST(WorkAccount, FragmentedDocumentsShowUpAsPartialTiles) {
  // Documents of 64 tokens, W = 4: per-document head-tail cuts them into 8-token chunks, below the
  // 16-token tile, so every non-empty tile is partial; contiguous keeps whole 16x16 tiles full.
  const Workload w = make_workload(256, MaskKind::kDocumentCausal, {{64, 64, 64, 64}});
  const auto per_doc = make_plan(w, "t", "per_document_head_tail", 4, 16);
  const auto contiguous = make_plan(w, "t", "contiguous", 4, 16);
  ASSERT_TRUE(per_doc.ok() && contiguous.ok());
  EXPECT_EQ(per_doc->work.total_pairs(), contiguous->work.total_pairs());
  EXPECT_EQ(per_doc->work.total_tiles().full, 0);
  EXPECT_GT(contiguous->work.total_tiles().full, 0);
  EXPECT_GT(per_doc->work.total_tiles().nonempty(), contiguous->work.total_tiles().nonempty());
  EXPECT_LT(per_doc->work.pair_imbalance(), contiguous->work.pair_imbalance() + 1e-12);
}

TEST(WorkAccount, RowsAddUp) {
  const Workload one = make_workload(32, MaskKind::kDocumentCausal, {{8, 24}});
  const Workload two = make_workload(32, MaskKind::kDocumentCausal, {{8, 24}, {8, 24}});
  const auto a = make_plan(one, "t", "head_tail", 2, 4);
  const auto b = make_plan(two, "t", "head_tail", 2, 4);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(2 * a->work.total_pairs(), b->work.total_pairs());
  EXPECT_EQ(2 * a->work.total_tiles().partial, b->work.total_tiles().partial);
}

TEST(WorkAccount, WorldSizeLimits) {
  const Workload w = make_workload(4096, MaskKind::kCausal, {{4096}});
  auto big = make_plan(w, "t", "contiguous", 2048, 128);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("--world-size: 2048 exceeds"), std::string::npos);
  auto zero = make_plan(w, "t", "contiguous", 0, 128);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, "--world-size: must be a positive number of ranks, got 0");
  auto negative = make_plan(w, "t", "head_tail", -2, 128);
  ASSERT_FALSE(negative.ok());
  auto block = make_plan(w, "t", "ptrr", 2, 0);
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.error().message, "--block-size: must be from 1 to 1048576, got 0");
  auto huge = make_plan(w, "t", "striped_block", 2, std::int64_t{1} << 62);  // W x T once wrapped to 0: SIGFPE
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().message.rfind("--block-size: must be from 1 to 1048576", 0), 0u);
}

}  // namespace
}  // namespace cpsim
