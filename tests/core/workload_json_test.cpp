// Workload files: round trip, and one precise error per kind of bad input.
#include <gtest/gtest.h>

#include "core/workload_json.h"

namespace cpsim {
namespace {

const char* const kGood =
    R"({"schema_version":1,"seq_len":16,"mask":{"kind":"document_causal"},"documents":[[4,8,4]],)"
    R"("model":{"q_heads":32,"kv_heads":8,"head_dim":128,"dtype":"bf16"}})";

std::string error_of(const std::string& text) {
  auto doc = parse_json_text(text, "w.json");
  if (!doc) return doc.error().message;
  auto w = workload_from_json(*doc, "w.json");
  return w.ok() ? "" : w.error().message;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

TEST(WorkloadJson, RoundTrip) {
  auto doc = parse_json_text(kGood, "w.json");
  ASSERT_TRUE(doc.ok());
  auto w = workload_from_json(*doc, "w.json");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->seq_len, 16);
  EXPECT_EQ(w->documents, (std::vector<std::vector<std::int64_t>>{{4, 8, 4}}));
  auto again = workload_from_json(workload_to_json(*w), "again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(workload_digest(*again), workload_digest(*w));
}

TEST(WorkloadJson, WindowAndPrefixKinds) {
  EXPECT_EQ(error_of(replaced(kGood, R"({"kind":"document_causal"})", R"({"kind":"sliding_window","window":4})")), "");
  EXPECT_EQ(error_of(replaced(kGood, R"({"kind":"document_causal"})", R"({"kind":"prefix_lm","prefix":4})")), "");
  EXPECT_EQ(error_of(replaced(kGood, R"({"kind":"document_causal"})", R"({"kind":"sliding_window"})")),
            "w.json: mask.window: missing; for example \"mask\":{\"kind\":\"sliding_window\",\"window\":4096}");
  EXPECT_EQ(error_of(replaced(kGood, R"({"kind":"document_causal"})", R"({"kind":"sliding_window","window":0})")),
            "w.json: mask.window: must be a positive number of keys for sliding_window, got 0");
  EXPECT_EQ(error_of(replaced(kGood, R"({"kind":"document_causal"})", R"({"kind":"prefix_lm","prefix":17})")),
            "w.json: mask.prefix: must be in [0, seq_len=16], got 17");
  EXPECT_EQ(error_of(replaced(kGood, R"({"kind":"document_causal"})", R"({"kind":"causal","window":3})")),
            "w.json: mask.window: only sliding-window kinds take a window; mask.kind is causal");
}

TEST(WorkloadJson, BadInputsNameFileFieldAndValue) {
  EXPECT_NE(error_of(R"({"schema_version":1,)").find("w.json: line 1, column 21: syntax error"), std::string::npos)
      << error_of(R"({"schema_version":1,)");
  EXPECT_EQ(error_of("[1,2]"), "w.json: (top level): expected an object, got [1,2]");
  EXPECT_EQ(error_of(replaced(kGood, R"("seq_len":16)", R"("seq_len":"16")")), "w.json: seq_len: expected an integer, got \"16\"");
  EXPECT_EQ(error_of(replaced(kGood, R"("seq_len":16)", R"("seq_len":16.5)")), "w.json: seq_len: expected an integer, got 16.5");
  // A missing field shows a minimal workload (kGood is one).
  EXPECT_EQ(error_of(replaced(kGood, R"("seq_len":16,)", "")), std::string("w.json: seq_len: missing; a minimal workload: ") + kGood);
  EXPECT_EQ(error_of(replaced(kGood, R"("seq_len":16)", R"("seq_len":0)")), "w.json: seq_len: must be positive, got 0");
  EXPECT_EQ(error_of(replaced(kGood, R"("seq_len":16)", R"("seq_len":99999999999999999999)")),
            "w.json: seq_len: expected an integer, got 1e+20");
  EXPECT_EQ(error_of(replaced(kGood, "[[4,8,4]]", "[[4,-8,20]]")),
            "w.json: documents[0][1]: document length must be positive, got -8");
  EXPECT_EQ(error_of(replaced(kGood, "[[4,8,4]]", "[[4,8,0,4]]")),
            "w.json: documents[0][2]: document length must be positive, got 0");
  EXPECT_EQ(error_of(replaced(kGood, "[[4,8,4]]", "[[4,8,4],[4,8]]")),
            "w.json: documents[1]: document lengths sum to 12, not seq_len 16");
  EXPECT_EQ(error_of(replaced(kGood, "[[4,8,4]]", "[[4,8,8]]")),
            "w.json: documents[0]: document lengths sum past seq_len 16 at document 2");
  EXPECT_EQ(error_of(replaced(kGood, "[[4,8,4]]", "[]")), "w.json: documents: needs at least one batch row, got []");
  EXPECT_EQ(error_of(replaced(kGood, "[[4,8,4]]", "[4,8,4]")), "w.json: documents[0]: expected an array, got 4");
  EXPECT_EQ(error_of(replaced(kGood, "document_causal", "block_sparse")),
            "w.json: mask.kind: unknown mask kind \"block_sparse\" (expected one of: causal, full, document_causal, "
            "document_full, sliding_window, document_sliding_window, prefix_lm)");
  EXPECT_EQ(error_of(replaced(kGood, R"("kv_heads":8)", R"("kv_heads":5)")),
            "w.json: model.kv_heads: 5 does not divide q_heads 32");
  EXPECT_EQ(error_of(replaced(kGood, R"("dtype":"bf16")", R"("dtype":"int8")")),
            "w.json: model.dtype: unknown dtype \"int8\" (expected bf16, fp16 or fp32)");
  EXPECT_EQ(error_of(replaced(kGood, R"("schema_version":1)", R"("schema_version":2)")),
            "w.json: schema_version: unsupported version 2 (this cpsim reads 1)");
  EXPECT_EQ(error_of(replaced(kGood, R"("seq_len":16)", R"("seq_length":16)")).substr(0, 40),
            "w.json: seq_length: unknown field (expec");
}

TEST(WorkloadJson, TokensAndShapesAreBounded) {
  // 2^24 tokens in all: one row of 2^24, or 2^14 rows of 2^10, but not one more.
  Workload w;
  w.seq_len = std::int64_t{1} << 24;
  w.documents.assign(1, {w.seq_len});
  EXPECT_TRUE(validate_workload(w, "big.json").ok());
  w.documents.assign(2, {w.seq_len});
  EXPECT_EQ(validate_workload(w, "big.json").error().message,
            "big.json: documents: 2 rows of seq_len 16777216 are more than the 16777216 tokens (2^24) a workload may have");
  w.seq_len = (std::int64_t{1} << 24) + 1;
  w.documents.assign(1, {w.seq_len});
  EXPECT_NE(validate_workload(w, "big.json").error().message.find("seq_len: 16777217 exceeds the maximum 16777216 tokens"), std::string::npos);
  // Heads and head dim near 2^63 would overflow every byte count (tokens x heads x dim x bytes).
  w.seq_len = 1024;
  w.documents.assign(1, {1024});
  w.model.q_heads = w.model.kv_heads = std::int64_t{1} << 62;
  EXPECT_NE(validate_workload(w, "big.json").error().message.find("model.q_heads: must be from 1 to 16384, got 4611686018427387904"),
            std::string::npos);
  w.model.q_heads = w.model.kv_heads = 8;
  w.model.head_dim = std::int64_t{1} << 40;
  EXPECT_NE(validate_workload(w, "big.json").error().message.find("model.head_dim: must be from 1 to 16384"), std::string::npos);
}

TEST(WorkloadJson, MissingFile) {
  auto w = load_workload("/nonexistent/w.json");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message, "/nonexistent/w.json: cannot open: No such file or directory");
}

}  // namespace
}  // namespace cpsim
