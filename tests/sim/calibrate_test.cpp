// Calibration recovers known constants from synthetic measurements made with them, in the simulator's own form,
// and says which constants the samples cannot pin down.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/text_format.h"
#include "sim/calibrate.h"
#include "sim/cost_model.h"
#include "sim/sim_test_util.h"

namespace cpsim {
namespace {

KernelSpec& kernel_of(HardwareProfile& hw, const std::string& name) {
  for (KernelSpec& k : hw.kernels) {
    if (k.name == name) return k;
  }
  ADD_FAILURE() << "no kernel " << name;
  return hw.kernels.front();
}

// Sets one pass's constants at head dim 128 (and its launch).
void set_constants(HardwareProfile& hw, const std::string& kernel, bool backward, double efficiency, double overhead, double partial, double launch) {
  KernelPass& p = backward ? kernel_of(hw, kernel).backward : kernel_of(hw, kernel).forward;
  p.by_hdim[1].efficiency.value = efficiency;
  p.by_hdim[1].cta_overhead_tiles.value = overhead;
  p.by_hdim[1].partial_tile_cost.value = partial;
  p.launch_us.value = launch;
}

// 64 (rank, step) samples of varied shape: some kernels fill the GPU, others are held up by one long row of tiles
// (few, uneven rows), so both branches of the kernel time are present. Compute is the simulator's own kernel_us on
// `truth`; communication is latency + bytes / bandwidth, above the floor.
Measurement synthetic(const HardwareProfile& truth, const std::string& kernel, double latency, double gb_s, const std::string& path = "sparse_ring",
                      std::uint64_t seed = 9) {
  Measurement m;
  m.strategy.path = parse_path(path).value();
  m.strategy.rotate = path == "sparse_ring" ? RotateMethod::kAllToAll : RotateMethod::kAllGather;
  m.strategy.kernel = kernel;
  m.device_kind = DeviceKind::kGpu;
  m.tile_size = 128;
  m.q_heads = 32;
  m.kv_heads = 8;
  m.head_dim = 128;
  m.world_size = 8;
  ModelShape shape;
  shape.q_heads = m.q_heads;
  shape.kv_heads = m.kv_heads;
  shape.head_dim = m.head_dim;
  const KernelSpec* spec = truth.kernel(kernel);
  EXPECT_NE(spec, nullptr);
  const CostModel model(truth, shape, m.tile_size, *spec);
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
    const KernelWork work{s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles, 0, 0};
    s.compute_us = model.kernel_us(work, false);
    s.comm_bytes = 1e6 * static_cast<double>(1 + rng() % 100);
    s.comm_us = latency + s.comm_bytes / (gb_s * 1e3);
    m.steps.push_back(s);
    MeasuredStep b = s;  // the same work backward, at the truth's backward constants
    b.compute_us = model.kernel_us(work, true);
    m.backward.steps.push_back(b);
  }
  m.backward.ran = true;
  return m;
}

const FittedKernelPass* pass_of(const Calibration& c, const std::string& kernel, bool backward) {
  for (const FittedKernelPass& f : c.kernels) {
    if (f.kernel == kernel && f.backward == backward) return &f;
  }
  return nullptr;
}

// The profile, loaded from what calibrate wrote, predicts every sample it was fitted on.
void expect_predicts(const HardwareProfile& fitted, const Measurement& m, double tolerance) {
  ModelShape shape;
  shape.q_heads = m.q_heads;
  shape.kv_heads = m.kv_heads;
  shape.head_dim = m.head_dim;
  const CostModel model(fitted, shape, 128, *fitted.kernel(m.strategy.kernel));
  for (const auto* steps : {&m.steps, &m.backward.steps}) {
    for (const MeasuredStep& s : *steps) {
      EXPECT_NEAR(model.kernel_us({s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles, 0, 0}, steps == &m.backward.steps), s.compute_us,
                  tolerance * s.compute_us);
    }
  }
}

TEST(Calibrate, RecoversTheConstantsThatMadeTheMeasurements) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  // A device whose FlexAttention runs at 30% of peak with 3 tiles per CTA, 1.4x partial tiles and 9 us launches
  // forward (backward: 25%, 4 tiles, the shipped launch, which these samples cannot pin down), on a 150 GB/s,
  // 4 us link: all far from the shipped values.
  HardwareProfile truth = hw;
  set_constants(truth, "flex", false, 0.30, 3.0, 1.4, 9.0);
  set_constants(truth, "flex", true, 0.25, 4.0, 1.4, hw.kernel("flex")->backward.launch_us.value);
  const Measurement m = synthetic(truth, "flex", 4.0, 150);
  auto c = calibrate({m}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  const FittedKernelPass* f = pass_of(*c, "flex", false);
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->head_dims.size(), 1u);
  const FittedHeadDim& d = f->head_dims[0];
  EXPECT_EQ(d.head_dim, 128);
  EXPECT_NEAR(d.efficiency.value, 0.30, 0.003);
  EXPECT_NEAR(d.cta_overhead_tiles.value, 3.0, 0.03);
  EXPECT_NEAR(d.partial_tile_cost.value, 1.4, 0.014);
  EXPECT_TRUE(d.efficiency.fitted && d.cta_overhead_tiles.fitted && d.partial_tile_cost.fitted);
  EXPECT_NEAR(f->launch_us.value, 9.0, 0.2);
  EXPECT_LT(f->rms_after, 0.002);
  EXPECT_GT(f->rms_before, 0.05);  // the shipped constants were off by design
  const FittedKernelPass* b = pass_of(*c, "flex", true);
  ASSERT_NE(b, nullptr);
  EXPECT_NEAR(b->head_dims[0].efficiency.value, 0.25, 0.003);
  EXPECT_NEAR(b->head_dims[0].cta_overhead_tiles.value, 4.0, 0.04);
  EXPECT_LT(b->rms_after, 0.002);
  ASSERT_EQ(c->comm.size(), 1u);  // ring hops: send/recv
  EXPECT_EQ(c->comm[0].op, CommOp::kP2p);
  EXPECT_NEAR(c->comm[0].busbw_gb_s.value, 150.0, 1.5);
  EXPECT_NEAR(c->comm[0].latency_us.value, 4.0, 0.1);
  // The written profile carries the fitted numbers with their provenance, loads again and predicts the
  // measurements it was fitted on.
  auto doc = calibrated_profile_json(hw, *c, "h100-test", "synthetic");
  ASSERT_TRUE(doc.ok());
  const Json& h128 = (*doc)["kernels"]["flex"]["forward"]["hdim128"];
  EXPECT_NEAR(h128["efficiency"]["value"].get<double>(), 0.30, 0.003);
  EXPECT_EQ(h128["efficiency"]["source"], "fitted by cpsim calibrate: synthetic");
  EXPECT_EQ(h128["efficiency"]["estimate"], false);
  EXPECT_EQ((*doc)["links"]["nvlink"]["p2p"]["busbw_gb_s"]["source"], "fitted by cpsim calibrate: synthetic");
  EXPECT_FALSE(doc->contains("model_error"));  // what validate said of the old constants no longer holds
  auto fitted = hardware_profile_from_json(*doc, "fitted.json");
  ASSERT_TRUE(fitted.ok()) << fitted.error().message;
  expect_predicts(*fitted, m, 0.005);
}

// Plans on the SDPA ring and on a block-sparse path run different kernels: each is fitted to its own samples.
TEST(Calibrate, FitsEachKernelToItsOwnMeasurements) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  HardwareProfile truth = hw;
  set_constants(truth, "fa2", false, 0.28, 1.0, 1.5, 4.0);
  set_constants(truth, "flex", false, 0.45, 2.0, 1.2, 6.0);
  auto c = calibrate({synthetic(truth, "fa2", 4.0, 180, "sdpa_ring", 1), synthetic(truth, "flex", 4.0, 180, "flex_allgather", 2)}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NEAR(pass_of(*c, "fa2", false)->head_dims[0].efficiency.value, 0.28, 0.003);
  EXPECT_NEAR(pass_of(*c, "flex", false)->head_dims[0].efficiency.value, 0.45, 0.005);
  EXPECT_EQ(pass_of(*c, "cudnn", false), nullptr);  // nothing measured it
  // All-gathers are their own curve (the sdpa_ring plans above rotate by all-gather too).
  ASSERT_EQ(c->comm.size(), 1u);
  EXPECT_EQ(c->comm[0].op, CommOp::kAllGather);
}

// A device faster than its starting profile's peak allows (efficiency past 1): the written profile moves the
// excess into the peak, every kernel's efficiency divided by as much, and still predicts what it was fitted on.
TEST(Calibrate, ADeviceFasterThanTheProfilesPeakMovesTheExcessIntoThePeak) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  HardwareProfile truth = hw;
  set_constants(truth, "flex", false, 0.9, 2.0, 1.3, 3.0);
  truth.peak_bf16_tflops *= 2;  // the samples run at 1.8 of the shipped peak
  const Measurement m = synthetic(truth, "flex", 4.0, 180);
  auto c = calibrate({m}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NEAR(pass_of(*c, "flex", false)->head_dims[0].efficiency.value, 1.8, 0.02);
  auto doc = calibrated_profile_json(hw, *c, "fast", "synthetic");
  ASSERT_TRUE(doc.ok());
  auto fitted = hardware_profile_from_json(*doc, "fitted.json");
  ASSERT_TRUE(fitted.ok()) << fitted.error().message;
  EXPECT_NEAR(fitted->peak_bf16_tflops, 1.8 * hw.peak_bf16_tflops, 0.02 * hw.peak_bf16_tflops);
  // Another kernel keeps its rate: peak x efficiency.
  EXPECT_NEAR(fitted->peak_bf16_tflops * fitted->kernel("fa2")->forward.by_hdim[1].efficiency.value,
              hw.peak_bf16_tflops * hw.kernel("fa2")->forward.by_hdim[1].efficiency.value, 1e-6 * hw.peak_bf16_tflops);
  ModelShape shape;
  shape.q_heads = m.q_heads;
  shape.kv_heads = m.kv_heads;
  shape.head_dim = m.head_dim;
  const CostModel model(*fitted, shape, 128, *fitted->kernel("flex"));
  for (const MeasuredStep& s : m.steps) {
    EXPECT_NEAR(model.kernel_us({s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles, 0, 0}, false), s.compute_us, 0.005 * s.compute_us);
  }
}

// The CPU executor skips masked pairs, so a partial tile costs less than a full one (about half).
TEST(Calibrate, RecoversACheaperPartialTile) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  HardwareProfile truth = hw;
  set_constants(truth, "flex", false, 0.4, 2.0, 0.45, 3.0);
  auto c = calibrate({synthetic(truth, "flex", 4.0, 180)}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NEAR(pass_of(*c, "flex", false)->head_dims[0].partial_tile_cost.value, 0.45, 0.005);
}

// Samples of one shape cannot tell a CTA's overhead from the tile rate: the fit still reproduces them, but flags
// the constants it could not pin down, and the written profile keeps them estimates.
TEST(Calibrate, FlagsConstantsTheSamplesCannotPinDown) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  Measurement m = synthetic(hw, "flex", 4.0, 180);
  for (auto& s : m.steps) {
    s.full_tiles = 4000;
    s.partial_tiles = 0;
    s.active_rows = 64;
    s.max_row_tiles = 63;
    s.compute_us = 3000;  // 1.07 TFLOP in 3 ms: 36% of the peak
  }
  m.backward.steps.clear();
  auto c = calibrate({m}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  const FittedHeadDim& d = pass_of(*c, "flex", false)->head_dims[0];
  EXPECT_FALSE(d.cta_overhead_tiles.fitted && d.efficiency.fitted);
  EXPECT_FALSE(d.partial_tile_cost.fitted);  // no partial tile was measured
  EXPECT_LT(pass_of(*c, "flex", false)->rms_after, 0.01);
  auto doc = calibrated_profile_json(hw, *c, "x", "synthetic");
  ASSERT_TRUE(doc.ok());
  const Json& partial = (*doc)["kernels"]["flex"]["forward"]["hdim128"]["partial_tile_cost"];
  EXPECT_EQ(partial, hw.source.empty() ? Json() : read_json_file(hw.source).value()["kernels"]["flex"]["forward"]["hdim128"]["partial_tile_cost"]);
}

TEST(Calibrate, RefusesWhatItCannotFit) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  Measurement empty = synthetic(hw, "flex", 4.0, 180);
  for (auto& s : empty.steps) s.full_tiles = s.partial_tiles = 0;
  empty.backward.steps.clear();
  auto c = calibrate({empty}, hw, {"e.json"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("e.json: steps: no compute samples"), std::string::npos) << c.error().message;
  Measurement other = synthetic(hw, "flex", 4.0, 180);
  other.strategy.kernel = "fa9";
  c = calibrate({other}, hw, {"o.json"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("o.json: strategy: kernel \"fa9\" is not in profile h100-sxm-8x"), std::string::npos) << c.error().message;
  Measurement cpu = synthetic(hw, "flex", 4.0, 180);
  cpu.device_kind = DeviceKind::kCpu;
  c = calibrate({synthetic(hw, "flex", 4.0, 180), cpu}, hw, {"a.json", "b.json"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("b.json: device_kind: cpu differs from a.json's gpu"), std::string::npos) << c.error().message;
}

const CalibrationWarning* warning_of(const Calibration& c, WarningKind kind, const std::string& field) {
  for (const CalibrationWarning& w : c.warnings) {
    if (w.kind == kind && w.field == field) return &w;
  }
  return nullptr;
}

std::string all_warnings(const Calibration& c) {
  std::string out;
  for (const CalibrationWarning& w : c.warnings) out += w.field + ": " + w.message() + "\n";
  return out;
}

// A fit the samples determine reports its conditioning and where its worst samples came from, and warns only of what
// they cannot pin down (here backward's launch, as above).
TEST(CalibrateDiagnostics, AWellDeterminedFitReportsItsConditioningAndWarnsOfLittle) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  HardwareProfile truth = hw;
  set_constants(truth, "flex", false, 0.30, 3.0, 1.4, 9.0);
  set_constants(truth, "flex", true, 0.25, 4.0, 1.4, hw.kernel("flex")->backward.launch_us.value);
  Measurement m = synthetic(truth, "flex", 4.0, 150);
  m.steps[5].compute_us *= 1.2;  // one sample off by 20%: the worst, named by file and (rank, step)
  auto c = calibrate({m}, hw, {"m.json"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  const FittedKernelPass* f = pass_of(*c, "flex", false);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->quality.unknowns, 4u);  // launch, efficiency, CTA overhead, partial-tile cost
  EXPECT_GT(f->quality.condition, 1.0);
  EXPECT_LT(f->quality.condition, kIllConditioned);
  EXPECT_GT(f->launch_us.standard_error, 0);
  EXPECT_LT(f->quality.worst_relative_error, kLooseRelativeError);
  ASSERT_FALSE(f->quality.worst.empty());
  EXPECT_EQ(f->quality.worst[0].origin, "m.json");
  EXPECT_EQ(f->quality.worst[0].rank, m.steps[5].rank);
  EXPECT_EQ(f->quality.worst[0].step, m.steps[5].step);
  EXPECT_LT(f->quality.worst[0].error, -0.1);  // predicted below the inflated measurement
  EXPECT_NEAR(f->launch_us.start, hw.kernel("flex")->forward.launch_us.value, 1e-12);
  ASSERT_EQ(c->comm.size(), 1u);
  EXPECT_EQ(c->comm[0].quality.unknowns, 3u);
  EXPECT_TRUE(std::isfinite(c->comm[0].quality.condition));
  // Warned of only what the samples leave (nearly) open: backward's launch, the shipped one, small beside the calls'
  // tiles, and the link's floor, which no sample comes near.
  for (const CalibrationWarning& w : c->warnings) {
    EXPECT_TRUE(w.field == "kernels.flex.backward.launch_us" || w.field == "kernels.flex.backward" || w.field == "links.nvlink.p2p.floor_us")
        << w.field << ": " << w.message();
    EXPECT_FALSE(w.advice.empty()) << w.message();
  }
}

// Fewer samples than unknowns: the group says so, and names what the samples leave undetermined and how to fix it.
TEST(CalibrateDiagnostics, WarnsOfAnUnderdeterminedFit) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  Measurement m = synthetic(hw, "flex", 4.0, 180);
  m.steps.resize(2);
  m.backward.steps.clear();
  auto c = calibrate({m}, hw, {"few.json"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  const CalibrationWarning* few = warning_of(*c, WarningKind::kFewSamples, "kernels.flex.forward");
  ASSERT_NE(few, nullptr) << all_warnings(*c);
  EXPECT_EQ(few->message(), "flex forward: 2 samples for 4 unknowns: the fit cannot determine them all; measure more plans (each (rank, step) of a run is a sample)");
  EXPECT_EQ(pass_of(*c, "flex", false)->quality.unknowns, 4u);
  // Each constant left at its start is named with its value and what would determine it.
  bool named = false;
  for (const CalibrationWarning& w : c->warnings) {
    if (w.kind != WarningKind::kNotDetermined || w.group.rfind("flex forward", 0) != 0) continue;
    named = true;
    EXPECT_NE(w.text().find(" is not determined (kept at its starting "), std::string::npos) << w.text();
  }
  EXPECT_TRUE(named) << all_warnings(*c);
}

// Times that imply a 120 us launch (40x the shipped one), or a partial tile at a tenth of a full one: fitted, and
// flagged with the fitted and starting values and what would determine them.
TEST(CalibrateDiagnostics, WarnsOfConstantsFarFromTheStartingProfile) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  HardwareProfile truth = hw;
  set_constants(truth, "flex", false, 0.40, 2.0, 0.1, 120.0);
  Measurement m = synthetic(truth, "flex", 4.0, 180);
  m.backward.steps.clear();
  auto c = calibrate({m}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NEAR(pass_of(*c, "flex", false)->launch_us.value, 120, 1.2);
  const CalibrationWarning* launch = warning_of(*c, WarningKind::kFarFromStart, "kernels.flex.forward.launch_us");
  ASSERT_NE(launch, nullptr) << all_warnings(*c);
  const std::string start = format_number(hw.kernel("flex")->forward.launch_us.value, "%.3g");
  EXPECT_NE(launch->text().find("launch_us fitted 120 us, "), std::string::npos) << launch->text();
  EXPECT_NE(launch->text().find("x above its starting " + start + " us, above 100 us: add plans with more kernel calls per rank"), std::string::npos)
      << launch->text();
  const CalibrationWarning* partial = warning_of(*c, WarningKind::kFarFromStart, "kernels.flex.forward.hdim128.partial_tile_cost");
  ASSERT_NE(partial, nullptr) << all_warnings(*c);
  EXPECT_NE(partial->text().find("partial_tile_cost fitted 0.1, "), std::string::npos) << partial->text();
  EXPECT_NE(partial->text().find("below 0.25: measure plans whose tiles are mostly partial"), std::string::npos) << partial->text();
}

// CPU measurements against a GPU profile: every constant starts from the wrong device, and the first warning says so.
TEST(CalibrateDiagnostics, WarnsOfAStartingProfileOfAnotherKindOfDevice) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  Measurement m = synthetic(hw, "flex", 4.0, 180);
  m.device_kind = DeviceKind::kCpu;
  auto c = calibrate({m}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_FALSE(c->warnings.empty());
  EXPECT_EQ(c->warnings.front().kind, WarningKind::kDevice);
  EXPECT_EQ(c->warnings.front().message(), "the measurements ran on a cpu but profile h100-sxm-8x describes a gpu: start from a profile of that kind (--hardware cpu-threads)");
}

// Samples of one shape cannot tell the CTA overhead from the rate: the constant left open is named, with what would
// determine it.
TEST(CalibrateDiagnostics, WarnsOfWhatSamplesOfOneShapeLeaveOpen) {
  const HardwareProfile hw = testing::shipped_profile("h100-sxm-8x");
  Measurement m = synthetic(hw, "flex", 4.0, 180);
  for (auto& s : m.steps) {
    s.full_tiles = 4000;
    s.partial_tiles = 0;
    s.active_rows = 64;
    s.max_row_tiles = 63;
    s.compute_us = 3000;
  }
  m.backward.steps.clear();
  auto c = calibrate({m}, hw);
  ASSERT_TRUE(c.ok()) << c.error().message;
  // Kept, and said so: as a warning where the constant matters to these samples, else as a note (a CTA overhead of
  // 4.4 tiles beside 64 rows of 63 tiles is a few percent, a partial-tile cost with no partial tile nothing).
  auto kept = [&](const std::string& field) {
    for (const auto* list : {&c->warnings, &c->notes}) {
      for (const CalibrationWarning& w : *list) {
        if (w.kind == WarningKind::kNotDetermined && w.field == field) return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(kept("kernels.flex.forward.hdim128.partial_tile_cost")) << all_warnings(*c);
  EXPECT_TRUE(kept("kernels.flex.forward.hdim128.cta_overhead_tiles") || kept("kernels.flex.forward.hdim128.efficiency")) << all_warnings(*c);
  for (const CalibrationWarning& n : c->notes) EXPECT_FALSE(n.advice.empty()) << n.message();
}

}  // namespace
}  // namespace cpsim
