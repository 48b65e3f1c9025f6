// Topology: ring hops from graph paths, the all-gather closed form, InfiniBand on node-crossing hops.
#include <gtest/gtest.h>

#include "sim/sim_test_util.h"
#include "sim/topology.h"

#include <algorithm>

namespace cpsim {
namespace {

TEST(Topology, AllGatherIsTheRingFormula) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  auto t = Topology::build(hw, 8);
  ASSERT_TRUE(t.ok());
  const double bytes = 537e6;  // full K and V at S = 128k, 8 KV heads, D = 128, bf16
  // nccl-tests' form: max(floor, (W-1) x per-step latency + (W-1)/W x bytes / busbw), on the all-gather's curve.
  const OpCurve& ag = hw.nvlink.op(CommOp::kAllGather);
  const double expected = std::max(ag.floor_us, 7 * ag.latency_us + 7.0 / 8.0 * bytes / (ag.busbw_gb_s * 1e3));
  EXPECT_NEAR(t->ring_collective_us(CommOp::kAllGather, bytes), expected, 1e-9);
  // The fitted curve puts 537 MB at about 1.36 ms, as nccl-tests measured 512 MiB (1.394 ms) on 8 H100s.
  EXPECT_NEAR(t->ring_collective_us(CommOp::kAllGather, bytes), 1394 * 537e6 / 536870912.0, 40);
  // A ring shift: one send/recv hop of 67 MB on the p2p curve.
  const OpCurve& p2p = hw.nvlink.op(CommOp::kP2p);
  EXPECT_NEAR(t->ring_shift_us(67e6), std::max(p2p.floor_us, p2p.latency_us + 67e6 / (p2p.busbw_gb_s * 1e3)), 1e-9);
  // Small messages pay the floor.
  EXPECT_DOUBLE_EQ(t->ring_collective_us(CommOp::kAllGather, 1000), std::max(ag.floor_us, 7 * ag.latency_us + 7.0 / 8.0 * 1000 / (ag.busbw_gb_s * 1e3)));
}

TEST(Topology, RingsThatCrossNodesPayInfiniBand) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-ib");
  auto t = Topology::build(hw, 16);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->inter_node_ring_hops(), 2);  // 7 -> 8 and 15 -> 0
  EXPECT_FALSE(t->ring_hop(6).crosses_nodes);
  EXPECT_TRUE(t->ring_hop(7).crosses_nodes);
  const OpCurve& ib = hw.infiniband.op(CommOp::kP2p);
  const OpCurve& nv = hw.nvlink.op(CommOp::kP2p);
  EXPECT_DOUBLE_EQ(t->ring_hop(7).op(CommOp::kP2p).busbw_gb_s, ib.busbw_gb_s);
  EXPECT_DOUBLE_EQ(t->ring_hop(7).op(CommOp::kP2p).latency_us, ib.latency_us);
  EXPECT_DOUBLE_EQ(t->ring_hop(6).op(CommOp::kP2p).busbw_gb_s, nv.busbw_gb_s);
  EXPECT_DOUBLE_EQ(t->ring_hop(6).op(CommOp::kP2p).latency_us, nv.latency_us);
  // The shift is as slow as its InfiniBand hop; the collective runs at the NIC's busbw with its per-step latency.
  EXPECT_NEAR(t->ring_shift_us(47e6), std::max(ib.floor_us, ib.latency_us + 47e6 / (ib.busbw_gb_s * 1e3)), 1e-9);
  const OpCurve& ib_ag = hw.infiniband.op(CommOp::kAllGather);
  EXPECT_NEAR(t->ring_collective_us(CommOp::kAllGather, 16e6),
              std::max(ib_ag.floor_us, 15 * ib_ag.latency_us + 15.0 / 16.0 * 16e6 / (ib_ag.busbw_gb_s * 1e3)), 1e-9);
  // Inside one node the same profile stays on NVLink.
  auto one_node = Topology::build(hw, 8);
  ASSERT_TRUE(one_node.ok());
  EXPECT_EQ(one_node->inter_node_ring_hops(), 0);
}

TEST(Topology, MoreRanksThanGpusIsAnError) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-ib");
  auto t = Topology::build(hw, 128);
  ASSERT_FALSE(t.ok());
  // Either the flag or the profile may be wrong: both are named, the profile by its file and fields.
  EXPECT_EQ(t.error().message, "--world-size: 128 ranks need more GPUs than profile h100-sxm-ib has (8 node(s) x 8 = 64: node.max_nodes x "
                               "node.gpus_per_node in " + hw.source + ")");
}

TEST(Topology, BeyondOneNodeMeansMoreNodesOfIt) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  auto t = Topology::build(hw, 64);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->nodes(), 8);
  EXPECT_EQ(t->inter_node_ring_hops(), 8);  // every eighth hop leaves its node
  EXPECT_EQ(hw.shape_text(64), "8 nodes x 8 H100 SXM5 80GB, NVLink inside a node, InfiniBand between");
  auto one = Topology::build(hw, 8);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->nodes(), 1);
  EXPECT_EQ(one->inter_node_ring_hops(), 0);
  // A profile without a fabric is one node: named with the field that would change it.
  HardwareProfile single = hw;
  single.infiniband.present = false;
  auto refused = Topology::build(single, 16);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("need more than one node of profile h100-sxm-8x (8 GPUs: node.gpus_per_node), and it describes no "
                                         "fabric between nodes (links.infiniband in"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace cpsim
