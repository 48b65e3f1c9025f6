// Calibration recovers known constants from synthetic measurements made with them.
#include <gtest/gtest.h>

#include <random>

#include "sim/calibrate.h"
#include "sim/cost_model.h"
#include "sim/sim_test_util.h"

namespace cpsim {
namespace {

Measurement synthetic(double launch, double t_full, double t_partial, double latency, double us_per_byte, double slots) {
  Measurement m;
  m.attention_path = "sparse_ring";
  m.tile_size = 128;
  m.q_heads = 32;
  m.kv_heads = 8;
  m.head_dim = 128;
  m.world_size = 8;
  std::mt19937_64 rng(9);
  for (int i = 0; i < 64; ++i) {
    MeasuredStep s;
    s.rank = i % 8;
    s.step = i / 8;
    s.full_tiles = static_cast<std::int64_t>(rng() % 5000);
    s.partial_tiles = 1 + static_cast<std::int64_t>(rng() % 800);
    s.compute_us = launch + (t_full * static_cast<double>(s.full_tiles) + t_partial * static_cast<double>(s.partial_tiles)) * 32 / slots;
    s.comm_bytes = 1e6 * static_cast<double>(1 + rng() % 100);
    s.comm_us = latency + us_per_byte * s.comm_bytes;
    m.steps.push_back(s);
  }
  return m;
}

TEST(Calibrate, RecoversTheConstantsThatMadeTheMeasurements) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  const double slots = static_cast<double>(hw.sm_count * hw.ctas_per_sm);
  // A device 20% slower per tile than the profile says, with 30% partial overhead, 9 us launches and
  // a 180 GB/s, 4 us link.
  ModelShape shape;
  const CostModel model(hw, shape, 128);
  const double t_full = model.tile_us(false, KernelKind::kBlockSparse, false) * 1.2;
  const Measurement m = synthetic(9.0, t_full, t_full * 1.3, 4.0, 1.0 / 180e3, slots);
  auto c = calibrate({m}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NEAR(c->kernel_launch_us, 9.0, 1e-6);
  EXPECT_NEAR(c->fwd_efficiency_scale, 1.0 / 1.2, 1e-9);
  EXPECT_NEAR(c->partial_tile_overhead_fraction, 0.3, 1e-9);
  EXPECT_NEAR(c->p2p_bandwidth_gb_s, 180.0, 1e-6);
  EXPECT_NEAR(c->latency_us, 4.0, 1e-6);
  EXPECT_LT(c->compute.rms_relative_error, 1e-9);
  EXPECT_GT(c->rms_error_before_compute, 0.05);  // the shipped constants were off by design
  // The written profile carries the fitted numbers with their provenance and loads again.
  auto doc = calibrated_profile_json(hw, *c, "h100-test", "synthetic");
  ASSERT_TRUE(doc.ok());
  EXPECT_NEAR((*doc)["gpu"]["attn_fwd_efficiency_hdim128"]["value"].get<double>(), 0.655 / 1.2, 1e-9);
  EXPECT_EQ((*doc)["links"]["nvlink"]["latency_us"]["source"], "fitted by cpsim calibrate: synthetic");
}

TEST(Calibrate, RefusesSamplesThatCannotDetermineTheConstants) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  Measurement m = synthetic(9.0, 2.0, 2.5, 4.0, 1e-5, 132);
  for (auto& s : m.steps) {  // every step the same size: the three compute constants are not identifiable
    s.full_tiles = 100;
    s.partial_tiles = 10;
    s.compute_us = 50;
  }
  auto c = calibrate({m}, hw);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("do not vary enough"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace cpsim
