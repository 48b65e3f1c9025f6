// RowLayout: permutation checks, restore, runs and slot lookups.
#include <gtest/gtest.h>

#include "core/layout.h"

namespace cpsim {
namespace {

TEST(RowLayout, HeadTailRunsAndOwnership) {
  auto layout = RowLayout::from_rearrange({0, 1, 6, 7, 2, 3, 4, 5}, 2, "t");
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->shard_len(), 4);
  EXPECT_EQ(layout->restore(), (std::vector<std::int64_t>{0, 1, 4, 5, 6, 7, 2, 3}));
  // Positions 0-1 -> slots 0-1, 2-5 -> slots 4-7, 6-7 -> slots 2-3.
  ASSERT_EQ(layout->runs().size(), 3u);
  EXPECT_EQ(layout->runs()[1].position, 2);
  EXPECT_EQ(layout->runs()[1].slot, 4);
  EXPECT_EQ(layout->runs()[1].length, 4);
  EXPECT_EQ(layout->rank_of_position(6), 0);
  EXPECT_EQ(layout->rank_of_position(3), 1);
  EXPECT_EQ(layout->slot_order_index(3), 1u);  // slot 3 lies in the run starting at slot 2
  EXPECT_EQ(layout->first_run_reaching(5), 1u);
}

TEST(RowLayout, RunsNeverCrossShards) {
  auto layout = RowLayout::from_rearrange({0, 1, 2, 3, 4, 5, 6, 7}, 4, "t");
  ASSERT_TRUE(layout.ok());
  ASSERT_EQ(layout->runs().size(), 4u);
  for (const cpsim::Run& run : layout->runs()) {
    EXPECT_EQ(run.length, 2);
  }
}

TEST(RowLayout, RejectsNonPermutations) {
  auto dup = RowLayout::from_rearrange({0, 1, 1, 3}, 2, "plan.json: rearrange_indices[0]");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message, "plan.json: rearrange_indices[0][2]: index 1 appears twice (also at slot 1); not a permutation");
  auto out = RowLayout::from_rearrange({0, 1, 9, 3}, 2, "x");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "x[2]: index 9 is outside [0, 4)");
  auto uneven = RowLayout::from_rearrange({0, 1, 2}, 2, "x");
  ASSERT_FALSE(uneven.ok());
  EXPECT_NE(uneven.error().message.find("not divisible by world size 2"), std::string::npos);
}

}  // namespace
}  // namespace cpsim
