// Topology: ring hops from graph paths, the all-gather closed form, InfiniBand on node-crossing hops.
#include <gtest/gtest.h>

#include "sim/sim_test_util.h"
#include "sim/topology.h"

namespace cpsim {
namespace {

TEST(Topology, AllGatherIsTheRingFormula) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  auto t = Topology::build(hw, 8);
  ASSERT_TRUE(t.ok());
  const double bytes = 537e6;  // full K and V at S = 128k, 8 KV heads, D = 128, bf16
  // (W-1) * alpha + (W-1)/W * bytes / busbw, alpha = NVLink latency 3 us, busbw = 370 GB/s.
  const double expected = 7 * 3.0 + 7.0 / 8.0 * bytes / (370.0 * 1e3);
  EXPECT_NEAR(t->ring_collective_us(bytes), expected, 1e-9);
  EXPECT_NEAR(t->ring_collective_us(bytes), 1290.5, 1.0);  // derived: 537 MB x 7/8 / 370 GB/s = 1.27 ms, + latency
  // A ring shift: one hop of 67 MB at the 250 GB/s P2P estimate plus 3 us.
  EXPECT_NEAR(t->ring_shift_us(67e6), 3.0 + 67e6 / 250e3, 1e-9);
}

TEST(Topology, RingsThatCrossNodesPayInfiniBand) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-ib");
  auto t = Topology::build(hw, 16);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->inter_node_ring_hops(), 2);  // 7 -> 8 and 15 -> 0
  EXPECT_FALSE(t->ring_hop(6).crosses_nodes);
  EXPECT_TRUE(t->ring_hop(7).crosses_nodes);
  EXPECT_DOUBLE_EQ(t->ring_hop(7).p2p_bandwidth_gb_s, 47.0);
  EXPECT_DOUBLE_EQ(t->ring_hop(7).latency_us, 12.0);
  EXPECT_DOUBLE_EQ(t->ring_hop(6).p2p_bandwidth_gb_s, 250.0);
  EXPECT_DOUBLE_EQ(t->ring_hop(6).latency_us, 3.0);
  // The shift is as slow as its InfiniBand hop; the collective runs at the NIC's busbw.
  EXPECT_NEAR(t->ring_shift_us(47e6), 12.0 + 1000.0, 1e-9);
  EXPECT_NEAR(t->ring_collective_us(16e6), 15 * 12.0 + 15.0 / 16.0 * 16e6 / 47e3, 1e-9);
  // Inside one node the same profile stays on NVLink.
  auto one_node = Topology::build(hw, 8);
  ASSERT_TRUE(one_node.ok());
  EXPECT_EQ(one_node->inter_node_ring_hops(), 0);
}

TEST(Topology, MoreRanksThanGpusIsAnError) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  auto t = Topology::build(hw, 16);
  ASSERT_FALSE(t.ok());
  // Either the flag or the profile may be wrong: both are named, the profile by its file and fields.
  EXPECT_EQ(t.error().message, "--world-size: 16 ranks need more GPUs than profile h100-sxm-8x has (1 node(s) x 8 = 8: node.nodes x "
                               "node.gpus_per_node in " + hw.source + ")");
}

}  // namespace
}  // namespace cpsim
