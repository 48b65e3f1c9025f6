// Synthetic workloads: packed rows of documents whose lengths follow a seeded distribution, or a weighted mixture
// of them. Sampling uses std::mt19937_64 with our own transforms, so a seed gives the same file everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "workload.h"

namespace cpsim {

enum class LengthDistribution { kFixed, kUniform, kLognormal, kPareto, kMixture };

std::optional<LengthDistribution> parse_length_distribution(std::string_view name);
std::string_view length_distribution_name(LengthDistribution d);

// One distribution of a mixture, with its own parameters (the fields of GeneratorSpec of the same names; never
// kMixture) and its weight (> 0; weights need not sum to 1).
struct MixtureComponent {
  LengthDistribution distribution = LengthDistribution::kLognormal;
  std::int64_t length = 0;
  std::int64_t min_len = 1;
  std::int64_t max_len = 0;
  double mean = 0;
  double sigma = 1.0;
  double alpha = 1.5;
  double weight = 1.0;
};

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
  std::vector<MixtureComponent> mixture;  // mixture: each document's distribution is drawn by weight first
  std::int64_t multiple_of = 1;  // round each length to a multiple (per-document head-tail needs 2W)
  std::uint64_t seed = 0;
  Mask mask;
  ModelShape model;
};

// `--mix` text: components "NAME:KEY=VALUE,...:WEIGHT" separated by ';', e.g.
//   "lognormal:mean=4096,sigma=1.2:0.9;fixed:length=65536:0.1"
// Keys are the distribution's own (fixed: length; uniform: min_len, max_len; lognormal: mean, sigma; pareto:
// alpha, min_len) and min_len, max_len as clips; a key left out takes the value of `defaults` (the flags). Fails
// naming the component on an unknown distribution or key, a bad number, or a weight that is not positive.
Result<std::vector<MixtureComponent>> parse_mixture(std::string_view text, const GeneratorSpec& defaults);
// The canonical text of a mixture (every parameter written), which parse_mixture reads back to the same components.
std::string mixture_text(const std::vector<MixtureComponent>& mixture);

// Draws documents until each row is full; the last document of a row takes what remains.
// Fails, naming the flag, on parameters that cannot produce a valid workload.
Result<Workload> generate_workload(const GeneratorSpec& spec);

// The `cpsim generate` command line that reproduces `spec`.
std::string generator_command(const GeneratorSpec& spec);

}  // namespace cpsim
