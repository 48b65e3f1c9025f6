// The event simulation: stream order, collectives that wait for the last rank, overlap slowdown.
#include <gtest/gtest.h>

#include "sim/engine.h"

namespace cpsim {
namespace {

Op compute(std::string name, std::vector<double> d, std::vector<std::size_t> deps = {}) {
  return {std::move(name), OpKind::kCompute, false, -1, std::move(d), std::move(deps), 0};
}
Op collective(std::string name, double d, std::size_t ranks, std::vector<std::size_t> deps = {}) {
  return {std::move(name), OpKind::kComm, false, -1, std::vector<double>(ranks, d), std::move(deps), 0};
}

TEST(Engine, AStragglerDelaysEveryCollectiveAndWhatFollows) {
  // Rank 1 computes 10 us, rank 0 1 us; both then join a collective and compute after it.
  std::vector<Op> ops{compute("a", {1, 10}), collective("sync", 2, 2, {0}), compute("b", {1, 1}, {1}),
                      collective("sync2", 2, 2, {2})};
  const Timeline t = run_schedule(ops, 2, 0.0);
  for (std::size_t r = 0; r < 2; ++r) {
    EXPECT_DOUBLE_EQ(t.ranks[r][1].start_us, 10.0) << "rank " << r;  // the collective waits for rank 1
    EXPECT_DOUBLE_EQ(t.ranks[r][2].start_us, 12.0) << "rank " << r;
    EXPECT_DOUBLE_EQ(t.end_us[r], 15.0);
  }
}

TEST(Engine, StreamsSerialiseAndOverlapSlowsCompute) {
  // Comm runs beside compute: 10 us of compute overlapping 4 us of comm at 25% slowdown takes 11 us.
  std::vector<Op> ops{collective("hop", 4, 1), compute("step", {10}), compute("next", {5}, {0})};
  const Timeline t = run_schedule(ops, 1, 0.25);
  EXPECT_DOUBLE_EQ(t.ranks[0][0].end_us, 4.0);
  EXPECT_DOUBLE_EQ(t.ranks[0][1].end_us, 11.0);
  EXPECT_DOUBLE_EQ(t.ranks[0][2].start_us, 11.0);  // same stream: after "step", although "hop" ended at 4
  EXPECT_DOUBLE_EQ(t.end_us[0], 16.0);
}

TEST(Engine, SkippedComputeTakesNoTime) {
  std::vector<Op> ops{compute("skip", {0}), compute("run", {3}, {0})};
  const Timeline t = run_schedule(ops, 1, 0.0);
  ASSERT_EQ(t.ranks[0].size(), 1u);
  EXPECT_DOUBLE_EQ(t.end_us[0], 3.0);
}

TEST(Engine, GroupedTransfersEndPerRank) {
  // Point-to-point transfers start together but each rank is done after its own duration.
  Op p2p = collective("exchange", 0, 2);
  p2p.duration_us = {3, 7};
  p2p.collective = false;
  const Timeline t = run_schedule({p2p, compute("after", {1, 1}, {0})}, 2, 0.0);
  EXPECT_DOUBLE_EQ(t.ranks[0][1].start_us, 3.0);
  EXPECT_DOUBLE_EQ(t.ranks[1][1].start_us, 7.0);
}

}  // namespace
}  // namespace cpsim
