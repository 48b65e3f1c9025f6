// Calibration recovers known constants from synthetic measurements made with them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "sim/calibrate.h"
#include "sim/cost_model.h"
#include "sim/sim_test_util.h"

namespace cpsim {
namespace {

// 64 (rank, step) samples of varied shape: some kernels fill the GPU in waves, others are held up by one long
// row of tiles (few, uneven rows), so both regimes of the simulator's kernel time are present. Compute is the
// simulator's own kernel_us on `truth`; communication is latency + bytes x us_per_byte.
Measurement synthetic(const HardwareProfile& truth, double latency, double us_per_byte, const std::string& path = "sparse_ring",
                      std::uint64_t seed = 9) {
  Measurement m;
  m.strategy.path = parse_path(path).value();
  const KernelKind kind = path == "sdpa_ring" ? KernelKind::kFlash : KernelKind::kBlockSparse;
  m.tile_size = 128;
  m.q_heads = 32;
  m.kv_heads = 8;
  m.head_dim = 128;
  m.world_size = 8;
  ModelShape shape;
  shape.q_heads = m.q_heads;
  shape.kv_heads = m.kv_heads;
  shape.head_dim = m.head_dim;
  const CostModel model(truth, shape, m.tile_size);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 64; ++i) {
    MeasuredStep s;
    s.rank = i % 8;
    s.step = i / 8;
    s.active_rows = 1 + static_cast<std::int64_t>(rng() % (i % 2 == 0 ? 4 : 64));
    s.full_tiles = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(40 * s.active_rows));
    s.partial_tiles = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(2 * s.active_rows));
    const std::int64_t tiles = s.full_tiles + s.partial_tiles;
    s.max_row_tiles = std::min(tiles, (tiles + s.active_rows - 1) / s.active_rows + static_cast<std::int64_t>(rng() % 30));
    s.compute_us = model.kernel_us({s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles}, false, kind);
    s.comm_bytes = 1e6 * static_cast<double>(1 + rng() % 100);
    s.comm_us = latency + us_per_byte * s.comm_bytes;
    m.steps.push_back(s);
    MeasuredStep b = s;  // the same work backward, at the truth's backward rate
    b.compute_us = model.kernel_us({s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles}, true, kind);
    m.backward.steps.push_back(b);
  }
  m.backward.ran = true;
  return m;
}

// The profile, loaded from what calibrate wrote, predicts every sample it was fitted on.
void expect_predicts(const HardwareProfile& fitted, const Measurement& m) {
  ModelShape shape;
  const CostModel model(fitted, shape, 128);
  for (const MeasuredStep& s : m.steps) {
    EXPECT_NEAR(model.kernel_us({s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles}, false, KernelKind::kBlockSparse),
                s.compute_us, 1e-6 * s.compute_us);
  }
  for (const MeasuredStep& s : m.backward.steps) {
    EXPECT_NEAR(model.kernel_us({s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles}, true, KernelKind::kBlockSparse),
                s.compute_us, 1e-6 * s.compute_us);
  }
}

TEST(Calibrate, RecoversTheConstantsThatMadeTheMeasurements) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  // A device 20% slower per tile than the profile says, with 30% partial overhead, 9 us launches and
  // a 180 GB/s, 4 us link.
  HardwareProfile truth = hw;
  for (double& e : truth.fwd_efficiency_by_hdim) e /= 1.2;
  for (double& e : truth.bwd_efficiency_by_hdim) e /= 1.4;
  truth.partial_tile_overhead_fraction = 0.3;
  truth.kernel_launch_us = 9.0;
  const Measurement m = synthetic(truth, 4.0, 1.0 / 180e3);
  std::int64_t held_up = 0;  // samples whose longest CTA outlasts their waves
  for (const MeasuredStep& s : m.steps) {
    const KernelWork w{s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles};
    held_up += CostModel::critical_share(w, m.q_heads, hw.sm_count, hw.ctas_per_sm) >
               std::ceil(static_cast<double>(s.active_rows * m.q_heads) / static_cast<double>(hw.sm_count)) /
                   static_cast<double>(s.active_rows * m.q_heads) + 1e-12;
  }
  ASSERT_GT(held_up, 5);
  ASSERT_LT(held_up, 59);
  auto c = calibrate({m}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NEAR(c->kernel_launch_us, 9.0, 1e-6);
  EXPECT_NEAR(c->fwd_efficiency_scale, 1.0 / 1.2, 1e-9);
  EXPECT_NEAR(c->bwd_efficiency_scale, 1.0 / 1.4, 1e-9);
  EXPECT_EQ(c->backward_samples, 64u);
  EXPECT_LT(c->rms_error_after_backward, 1e-9);
  EXPECT_GT(c->rms_error_before_backward, 0.05);
  EXPECT_NEAR(c->partial_tile_overhead_fraction, 0.3, 1e-9);
  EXPECT_NEAR(c->p2p_bandwidth_gb_s, 180.0, 1e-6);
  EXPECT_NEAR(c->latency_us, 4.0, 1e-6);
  EXPECT_LT(c->compute.rms_relative_error, 1e-9);
  EXPECT_GT(c->rms_error_before_compute, 0.05);  // the shipped constants were off by design
  // The written profile carries the fitted numbers with their provenance, loads again and predicts the
  // measurements it was fitted on.
  auto doc = calibrated_profile_json(hw, *c, "h100-test", "synthetic");
  ASSERT_TRUE(doc.ok());
  EXPECT_NEAR((*doc)["gpu"]["attn_fwd_efficiency_hdim128"]["value"].get<double>(), 0.655 / 1.2, 1e-9);
  EXPECT_NEAR((*doc)["gpu"]["attn_bwd_efficiency_hdim128"]["value"].get<double>(), 0.57 / 1.4, 1e-9);
  EXPECT_EQ((*doc)["links"]["nvlink"]["latency_us"]["source"], "fitted by cpsim calibrate: synthetic");
  auto fitted = hardware_profile_from_json(*doc, "fitted.json");
  ASSERT_TRUE(fitted.ok()) << fitted.error().message;
  expect_predicts(*fitted, m);
}

// A device faster than its starting profile allows (efficiency past 1): the written profile moves the excess
// into the peak and still predicts what it was fitted on.
TEST(Calibrate, ADeviceFasterThanTheProfilesPeakMovesTheExcessIntoThePeak) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  HardwareProfile truth = hw;
  for (double& e : truth.fwd_efficiency_by_hdim) e *= 2.0;  // 1.31 at head dim 128
  const Measurement m = synthetic(truth, 4.0, 1.0 / 180e3);
  auto c = calibrate({m}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NEAR(c->fwd_efficiency_scale, 2.0, 1e-9);
  auto doc = calibrated_profile_json(hw, *c, "fast", "synthetic");
  ASSERT_TRUE(doc.ok());
  auto fitted = hardware_profile_from_json(*doc, "fitted.json");
  ASSERT_TRUE(fitted.ok()) << fitted.error().message;
  EXPECT_LE(fitted->fwd_efficiency(256), 1.0);
  EXPECT_NEAR(fitted->peak_bf16_tflops * fitted->fwd_efficiency(128), 2.0 * hw.peak_bf16_tflops * hw.fwd_efficiency(128), 1e-6);
  EXPECT_NEAR(fitted->peak_bf16_tflops * fitted->bwd_efficiency(128), hw.peak_bf16_tflops * hw.bwd_efficiency(128), 1e-6);
  expect_predicts(*fitted, m);
}

// Plans on the SDPA ring (flash kernel) and on block-sparse paths (the profile's block-sparse factor slower) fit
// together: the factor is kept, the common rate is fitted.
TEST(Calibrate, FitsFlashAndBlockSparseMeasurementsTogether) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  HardwareProfile truth = hw;
  for (double& e : truth.fwd_efficiency_by_hdim) e /= 1.5;
  truth.kernel_launch_us = 7.0;
  auto c = calibrate({synthetic(truth, 4.0, 1.0 / 180e3, "sdpa_ring", 1), synthetic(truth, 4.0, 1.0 / 180e3, "flex_allgather", 2)}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NEAR(c->fwd_efficiency_scale, 1.0 / 1.5, 1e-9);
  EXPECT_NEAR(c->kernel_launch_us, 7.0, 1e-6);
  EXPECT_LT(c->compute.rms_relative_error, 1e-9);
}

TEST(Calibrate, RefusesMeasurementsOfDifferentTileSizesOrHeadDims) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  const Measurement a = synthetic(hw, 4.0, 1e-5);
  Measurement b = a;
  b.tile_size = 64;
  auto c = calibrate({a, b}, hw, {"a.json", "b.json"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kBadInput);
  EXPECT_NE(c.error().message.find("b.json: tile_size 64, head_dim 128 differ from a.json's 128, 128"), std::string::npos) << c.error().message;
  b = a;
  b.head_dim = 64;
  EXPECT_FALSE(calibrate({a, b}, hw).ok());
}

// The CPU executor skips masked pairs, so a partial tile costs less than a full one: the fit gives a negative
// overhead, which the profile keeps (between -1 and 0).
TEST(Calibrate, RecoversACheaperPartialTileAsANegativeOverhead) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  HardwareProfile truth = hw;
  truth.partial_tile_overhead_fraction = -0.45;
  auto c = calibrate({synthetic(truth, 4.0, 1.0 / 180e3)}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NEAR(c->partial_tile_overhead_fraction, -0.45, 1e-9);
  auto doc = calibrated_profile_json(hw, *c, "cpu-test", "synthetic");
  ASSERT_TRUE(doc.ok());
  auto fitted = hardware_profile_from_json(*doc, "fitted.json");
  ASSERT_TRUE(fitted.ok()) << fitted.error().message;
  EXPECT_NEAR(fitted->partial_tile_overhead_fraction, -0.45, 1e-9);
}

TEST(Calibrate, RefusesSamplesThatCannotDetermineTheConstants) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  Measurement m = synthetic(testing::shipped_profile("h100-sxm-8x"), 4.0, 1e-5);
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
