// Synthetic workloads: packed rows of documents whose lengths follow a seeded distribution.
// Sampling uses std::mt19937_64 with our own transforms, so a seed gives the same file everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "workload.h"

namespace cpsim {

enum class LengthDistribution { kFixed, kUniform, kLognormal, kPareto };

std::optional<LengthDistribution> parse_length_distribution(std::string_view name);
std::string_view length_distribution_name(LengthDistribution d);

struct GeneratorSpec {
  std::int64_t seq_len = 0;
  std::int64_t rows = 1;
  LengthDistribution distribution = LengthDistribution::kLognormal;
  std::int64_t length = 0;       // fixed: every document's length
  std::int64_t min_len = 1;      // uniform: lower bound; pareto: scale x_m; all: lengths are clipped to >= this
  std::int64_t max_len = 0;      // uniform: upper bound; all: clip (0 = seq_len)
  double mean = 0;               // lognormal: mean length in tokens
  double sigma = 1.0;            // lognormal: standard deviation of log(length)
  double alpha = 1.5;            // pareto: shape (smaller = heavier tail)
  std::int64_t multiple_of = 1;  // round each length to a multiple (per-document head-tail needs 2W)
  std::uint64_t seed = 0;
  Mask mask;
  ModelShape model;
};

// Draws documents until each row is full; the last document of a row takes what remains.
// Fails, naming the flag, on parameters that cannot produce a valid workload.
Result<Workload> generate_workload(const GeneratorSpec& spec);

// The `cpsim generate` command line that reproduces `spec`.
std::string generator_command(const GeneratorSpec& spec);

}  // namespace cpsim
