// The strategy's text form (what compare prints, what `plan --strategy` reads) and JSON form: every form reads
// back to the same value, and a bad one is an error naming the input and what is wrong.
#include <gtest/gtest.h>

#include "core/strategy.h"

namespace cpsim {
namespace {

Strategy make(std::string balancer, AttentionPath path, RotateMethod rotate, std::int64_t ulysses = 1, std::int64_t stages = 0,
              std::string kernel = "") {
  Strategy s;
  s.kernel = std::move(kernel);
  s.balancer = std::move(balancer);
  s.path = path;
  s.rotate = rotate;
  s.ulysses = ulysses;
  s.gather_stages = path == AttentionPath::kSparseGather && stages == 0 ? 1 : stages;
  return s;
}

TEST(StrategyText, EveryFormReadsBackToTheSameStrategy) {
  const std::vector<std::pair<Strategy, std::string>> cases = {
      {make("head_tail", AttentionPath::kSdpaRing, RotateMethod::kAllToAll), "head_tail + sdpa_ring/alltoall"},
      {make("ptrr", AttentionPath::kFlexAllgather, RotateMethod::kAllGather), "ptrr + flex_allgather/allgather"},
      {make("cost_aware", AttentionPath::kSparseGather, RotateMethod::kAllGather, 1, 2), "cost_aware + sparse_gather/allgather (2 stages)"},
      {make("striped", AttentionPath::kSparseGather, RotateMethod::kAllGather), "striped + sparse_gather/allgather"},
      {make("contiguous", AttentionPath::kSparseRing, RotateMethod::kAllToAll, 4), "contiguous + ulysses4 x sparse_ring/alltoall"},
      {make("document_hybrid", AttentionPath::kSparseGather, RotateMethod::kAllGather, 2, 3),
       "document_hybrid + ulysses2 x sparse_gather/allgather (3 stages)"},
      {Strategy::pure(8), "ulysses8"},
      {make("head_tail", AttentionPath::kSdpaRing, RotateMethod::kAllToAll, 1, 0, "fa3"), "head_tail + sdpa_ring/alltoall on fa3"},
      {make("ptrr", AttentionPath::kSparseGather, RotateMethod::kAllGather, 4, 2, "flex"), "ptrr + ulysses4 x sparse_gather/allgather on flex (2 stages)"},
      {[] {
         Strategy s = Strategy::pure(4);
         s.kernel = "cpsim";
         return s;
       }(),
       "ulysses4 on cpsim"},
  };
  for (const auto& [s, text] : cases) {
    EXPECT_EQ(strategy_text(s), text);
    auto back = parse_strategy_text(text, "--strategy");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, s) << text;
    auto json = strategy_from_json(strategy_to_json(s), FieldReader("p.json"), "strategy");
    ASSERT_TRUE(json.ok()) << json.error().message;
    EXPECT_EQ(*json, s) << text;
  }
  // Spaces around the parts and "1 stage" are read too.
  EXPECT_EQ(parse_strategy_text("  ptrr+ sparse_gather/allgather (1 stage) ", "--strategy")->gather_stages, 1);
  EXPECT_EQ(path_text(cases[4].first), "ulysses4 x sparse_ring/alltoall");
  EXPECT_EQ(Strategy::pure(8).plan_world_size(8), 1);
  EXPECT_EQ(cases[4].first.plan_world_size(16), 4);
}

TEST(StrategyText, BadTextIsNamedWithWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not a strategy; expected BALANCER + [ulyssesU x ]PATH/ROTATE"},
      {"ptrr", "not a strategy"},
      {"ulysses1", "pure Ulysses needs a degree from 2"},
      {"ulysses08", "not a strategy"},
      {"roundrobin + sdpa_ring/alltoall", "unknown balancer \"roundrobin\""},
      {"ptrr + ring/alltoall", "unknown attention path"},
      {"ptrr + sdpa_ring/ring", "unknown rotate method"},
      {"ptrr + sdpa_ring", "expected PATH/ROTATE"},
      {"ptrr + ulyssesX x sdpa_ring/alltoall", "expected ulyssesU before"},
      {"ptrr + sdpa_ring/alltoall (2 stages)", "stages apply to the sparse_gather path only"},
      {"ptrr + sparse_gather/allgather (0 stages)", "expected \"(N stages)\" with N from 1"},
      {"ptrr + sparse_gather/allgather (2 stages", "expected the stage count"},
      {"ptrr + sdpa_ring/alltoall on ", "expected a kernel name"},
      {"ptrr + sdpa_ring/alltoall on FA-2", "expected a kernel name"},
      {"ulysses8 on", "expected a kernel name"},
      {"ptrr\n+ sdpa_ring/alltoall", "unknown balancer \"ptrr\\n\""},
  };
  for (const auto& [text, why] : cases) {
    auto s = parse_strategy_text(text, "--strategy");
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.error().message.rfind("--strategy: ", 0), 0u) << s.error().message;
    EXPECT_NE(s.error().message.find(why), std::string::npos) << text << " -> " << s.error().message;
    EXPECT_EQ(s.error().message.find('\n'), std::string::npos) << "one line: " << s.error().message;
  }
}

TEST(StrategyJson, EditedOrBrokenFieldsAreNamed) {
  const FieldReader rd("p.json");
  const Json good = strategy_to_json(make("ptrr", AttentionPath::kSparseGather, RotateMethod::kAllGather, 1, 2));
  auto expect_error = [&](Json doc, const std::string& why) {
    auto s = strategy_from_json(doc, rd, "strategy");
    ASSERT_FALSE(s.ok()) << doc.dump();
    EXPECT_NE(s.error().message.find(why), std::string::npos) << s.error().message;
  };
  Json doc = good;
  doc["gather_stages"] = 3;  // the text still says 2
  expect_error(doc, "p.json: strategy.text: ");
  doc = good;
  doc["path"] = "sdpa_ring";
  doc["text"] = "ptrr + sdpa_ring/allgather (2 stages)";
  expect_error(doc, "strategy.gather_stages: must be 0 on sdpa_ring");
  doc = good;
  doc.erase("rotate");
  expect_error(doc, "strategy.rotate: missing");
  doc = good;
  doc["extra"] = 1;
  expect_error(doc, "strategy.extra: unknown field");
  doc = good;
  doc["ulysses"] = 0;
  expect_error(doc, "strategy.ulysses: must be a Ulysses degree from 1");
  doc = strategy_to_json(Strategy::pure(4));
  doc["balancer"] = "ptrr";
  expect_error(doc, "pure Ulysses is contiguous + sparse_gather/allgather");
  expect_error(Json("ptrr + sdpa_ring/alltoall"), "strategy: expected an object");
  // The kernel: optional (files written before kernels were named run the path's default), spelt as profiles do.
  doc = good;
  doc["kernel"] = "FA2";
  expect_error(doc, "strategy.kernel: expected a kernel name (1 to 32 of a-z, 0-9, _), got \"FA2\"");
  doc = strategy_to_json(make("ptrr", AttentionPath::kSparseGather, RotateMethod::kAllGather, 1, 2, "flex"));
  EXPECT_EQ(doc["kernel"], "flex");
  doc["kernel"] = "cpsim";
  expect_error(doc, "strategy.text: ");  // the text still says flex
  EXPECT_FALSE(good.contains("kernel"));
  EXPECT_TRUE(strategy_from_json(good, rd, "strategy")->kernel.empty());
}

}  // namespace
}  // namespace cpsim
