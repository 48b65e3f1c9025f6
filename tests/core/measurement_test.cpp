// MEASURED.json round trip and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/measurement.h"

namespace cpsim {
namespace {

// Writes `doc` as a MEASURED.json file and loads it back (the file is removed again).
Result<Measurement> load_written(const Json& doc, const std::string& name) {
  const auto path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path) << doc.dump();
  auto back = load_measurement(path);
  std::filesystem::remove(path);
  return back;
}

TEST(Measurement, RoundTripKeepsEveryField) {
  Measurement m;
  m.plan_source = "p.json";
  m.executor = "cpu";
  m.device = "cpu (4 threads)";
  m.world_size = 2;
  m.strategy.balancer = "ptrr";
  m.strategy.path = AttentionPath::kSparseRing;
  m.strategy.rotate = RotateMethod::kAllToAll;
  m.q_heads = 4;
  m.kv_heads = 2;
  m.head_dim = 32;
  m.total_us = 12.5;
  m.max_abs_error = 3e-7;
  m.max_rel_error = 4e-7;
  m.tolerance = 1e-5;
  m.verified = true;
  m.steps.push_back({1, 1, 10.0, 2.0, 5, 3, 2, 6, 4096.0});
  auto back = load_written(measurement_to_json(m), "cpsim_measurement_test.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->verified);
  EXPECT_DOUBLE_EQ(back->max_abs_error, 3e-7);
  EXPECT_DOUBLE_EQ(back->tolerance, 1e-5);
  ASSERT_EQ(back->steps.size(), 1u);
  EXPECT_EQ(back->steps[0].partial_tiles, 3);
  EXPECT_EQ(back->steps[0].max_row_tiles, 6);
  EXPECT_DOUBLE_EQ(back->steps[0].comm_bytes, 4096.0);
  EXPECT_EQ(back->head_dim, 32);
  EXPECT_EQ(back->strategy, m.strategy);
  EXPECT_EQ(back->device_kind, DeviceKind::kCpu);
  EXPECT_FALSE(back->backward.ran);  // written only when the backward pass ran
  // Files written before the longest row was recorded still load (calibrate then uses the throughput form).
  Json old = measurement_to_json(m);
  old["steps"][0].erase("max_row_tiles");
  auto older = load_written(old, "cpsim_measurement_test.json");
  ASSERT_TRUE(older.ok()) << older.error().message;
  EXPECT_EQ(older->steps[0].max_row_tiles, 0);
}

TEST(Measurement, FilesFromBeforeTheStrategyObjectStillLoad) {
  Measurement m;
  m.executor = "cuda";
  m.device = "gpu";
  Json doc = measurement_to_json(m);
  doc.erase("strategy");
  doc.erase("device_kind");
  doc["attention_path"] = "sdpa_ring";
  doc["rotate"] = "alltoall";
  auto back = load_written(doc, "cpsim_measurement_legacy.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->strategy.path, AttentionPath::kSdpaRing);
  EXPECT_EQ(back->strategy.rotate, RotateMethod::kAllToAll);
  EXPECT_EQ(back->device_kind, DeviceKind::kGpu);  // the cuda executor's
  doc["attention_path"] = "ring";
  auto bad = load_written(doc, "cpsim_measurement_legacy.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("attention_path: unknown attention path \"ring\""), std::string::npos) << bad.error().message;
}

// One rule for setting a measurement against its plan's prediction: the same kind of device.
TEST(Measurement, ComparableOnlyOnTheDeviceKindOfThePrediction) {
  Measurement m;
  m.device_kind = DeviceKind::kCpu;
  EXPECT_FALSE(comparable_with_prediction(m).comparable);
  EXPECT_EQ(comparable_with_prediction(m).why_not, "the plan has no prediction");
  m.predicted = Json::parse(R"({"forward_compute_us": [[1.0]]})");
  EXPECT_FALSE(comparable_with_prediction(m).comparable);  // a plan made before the kind was recorded
  EXPECT_NE(comparable_with_prediction(m).why_not.find("does not record"), std::string::npos);
  m.predicted["device_kind"] = "gpu";
  const Comparability cpu_vs_gpu = comparable_with_prediction(m);
  EXPECT_FALSE(cpu_vs_gpu.comparable);
  EXPECT_EQ(cpu_vs_gpu.why_not, "the prediction is for a gpu profile and this run was on a cpu");
  m.device_kind = DeviceKind::kGpu;
  EXPECT_TRUE(comparable_with_prediction(m).comparable);
  m.predicted["device_kind"] = "cpu";
  m.device_kind = DeviceKind::kCpu;
  EXPECT_TRUE(comparable_with_prediction(m).comparable);
}

TEST(Measurement, BackwardSectionRoundTrips) {
  Measurement m;
  m.executor = m.device = "x";
  m.backward.ran = true;
  m.backward.total_us = 40;
  m.backward.max_abs_error = 2e-6;
  m.backward.tolerance = 3e-5;
  m.backward.verified = true;
  m.backward.steps.push_back({0, 1, 30.0, 5.0, 4, 2, 1, 3, 8192.0});
  auto back = load_written(measurement_to_json(m), "cpsim_measurement_backward.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->backward.ran);
  EXPECT_TRUE(back->backward.verified);
  EXPECT_DOUBLE_EQ(back->backward.max_abs_error, 2e-6);
  ASSERT_EQ(back->backward.steps.size(), 1u);
  EXPECT_DOUBLE_EQ(back->backward.steps[0].compute_us, 30.0);
  Json doc = measurement_to_json(m);
  doc["backward"]["steps"][0]["comm_us"] = "slow";
  auto bad = load_written(doc, "cpsim_measurement_backward.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("backward.steps[0].comm_us: expected a non-negative number"), std::string::npos)
      << bad.error().message;
}

TEST(Measurement, BadFieldsAreNamed) {
  Measurement m;
  m.executor = m.device = "x";
  Json doc = measurement_to_json(m);
  doc["steps"] = Json::parse(R"([{"rank":0,"step":0,"compute_us":-1,"comm_us":0,"full_tiles":0,"partial_tiles":0,"active_rows":0,"comm_bytes":0}])");
  auto back = load_written(doc, "cpsim_measurement_bad.json");
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message.find("steps[0].compute_us: expected a non-negative number, got -1"), std::string::npos)
      << back.error().message;
}

// Per-rank sums of measured steps and of a plan's prediction; a prediction edited by hand (too few ranks,
// text for a number) gives no value or skips the entry instead of aborting execute's table.
TEST(Measurement, PerRankTotalsOfMeasuredAndPredicted) {
  const std::vector<MeasuredStep> steps = {{0, 0, 10.0, 1.0, 0, 0, 0, 0, 0}, {1, 0, 7.0, 2.0, 0, 0, 0, 0, 0}, {0, 1, 5.0, 3.0, 0, 0, 0, 0, 0}};
  EXPECT_DOUBLE_EQ(rank_totals(steps, 0).compute_us, 15.0);
  EXPECT_DOUBLE_EQ(rank_totals(steps, 0).comm_us, 4.0);
  EXPECT_DOUBLE_EQ(rank_totals(steps, 1).compute_us, 7.0);
  const Json predicted = Json::parse(R"({"forward_compute_us": [[1.5, 2.5], [4.0, "x"]]})");
  EXPECT_DOUBLE_EQ(*predicted_rank_us(predicted, "forward_compute_us", 0), 4.0);
  EXPECT_DOUBLE_EQ(*predicted_rank_us(predicted, "forward_compute_us", 1), 4.0);
  EXPECT_FALSE(predicted_rank_us(predicted, "forward_compute_us", 2));
  EXPECT_FALSE(predicted_rank_us(predicted, "backward_compute_us", 0));
  EXPECT_FALSE(predicted_rank_us(Json(), "forward_compute_us", 0));
}

}  // namespace
}  // namespace cpsim
