// Generators: valid, reproducible workloads for each distribution; parameters checked.
#include <gtest/gtest.h>

#include <numeric>

#include "core/generator.h"
#include "core/workload_json.h"

namespace cpsim {
namespace {

GeneratorSpec spec(LengthDistribution d) {
  GeneratorSpec s;
  s.seq_len = 65536;
  s.rows = 2;
  s.distribution = d;
  s.length = 4096;
  s.min_len = 64;
  s.max_len = 16384;
  s.mean = 2048;
  s.sigma = 1.0;
  s.alpha = 1.2;
  s.multiple_of = 16;
  s.seed = 42;
  s.mask.kind = MaskKind::kDocumentCausal;
  return s;
}

TEST(Generator, EveryDistributionMakesValidRoundedRows) {
  for (const auto d : {LengthDistribution::kFixed, LengthDistribution::kUniform, LengthDistribution::kLognormal,
                       LengthDistribution::kPareto}) {
    auto w = generate_workload(spec(d));
    ASSERT_TRUE(w.ok()) << w.error().message;
    ASSERT_EQ(w->rows(), 2);
    for (const auto& row : w->documents) {
      EXPECT_EQ(std::accumulate(row.begin(), row.end(), std::int64_t{0}), 65536);
      for (const auto len : row) {
        EXPECT_EQ(len % 16, 0);
        EXPECT_LE(len, 16384);
      }
    }
    EXPECT_NE(w->description.find("cpsim generate --seq-len 65536"), std::string::npos);
  }
}

TEST(Generator, SameSeedSameWorkloadOtherSeedOther) {
  const auto a = generate_workload(spec(LengthDistribution::kLognormal));
  const auto b = generate_workload(spec(LengthDistribution::kLognormal));
  auto other = spec(LengthDistribution::kLognormal);
  other.seed = 43;
  const auto c = generate_workload(other);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->documents, b->documents);
  EXPECT_NE(a->documents, c->documents);
}

TEST(Generator, LognormalMeanIsNearTheRequestedMean) {
  auto s = spec(LengthDistribution::kLognormal);
  s.seq_len = 1 << 24;
  s.rows = 1;
  s.max_len = 0;
  s.min_len = 1;
  s.multiple_of = 1;
  s.sigma = 0.5;
  auto w = generate_workload(s);
  ASSERT_TRUE(w.ok());
  const double mean = static_cast<double>(s.seq_len) / static_cast<double>(w->documents[0].size());
  EXPECT_NEAR(mean, 2048.0, 2048.0 * 0.05);
}

TEST(Generator, ParetoHasAHeavierTailThanUniform) {
  auto p = spec(LengthDistribution::kPareto);
  p.max_len = 0;
  auto w = generate_workload(p);
  ASSERT_TRUE(w.ok());
  const auto longest = *std::max_element(w->documents[0].begin(), w->documents[0].end());
  const auto shortest = *std::min_element(w->documents[0].begin(), w->documents[0].end() - 1);
  EXPECT_GT(longest, 20 * shortest);
}

TEST(Generator, BadParametersNameTheFlag) {
  auto s = spec(LengthDistribution::kLognormal);
  s.multiple_of = 48;
  EXPECT_EQ(generate_workload(s).error().message, "--multiple-of: 48 does not divide --seq-len 65536");
  s = spec(LengthDistribution::kLognormal);
  s.mean = 0;
  EXPECT_NE(generate_workload(s).error().message.find("--mean: lognormal needs a mean"), std::string::npos);
  s = spec(LengthDistribution::kFixed);
  s.length = -3;
  EXPECT_EQ(generate_workload(s).error().message, "--length: fixed lengths need a positive --length, got -3");
  s = spec(LengthDistribution::kUniform);
  s.max_len = 10;
  EXPECT_EQ(generate_workload(s).error().message, "--max-len: 10 is below --min-len 64");
}

}  // namespace
}  // namespace cpsim
