// Document-length sampling (fixed, uniform, lognormal, Pareto) and packing into rows.
#include "generator.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

namespace cpsim {
namespace {

// Portable transforms of mt19937_64's output (the engine is fully specified by the standard;
// std:: distributions are not, so we do not use them).
class Sampler {
 public:
  explicit Sampler(std::uint64_t seed) : engine_(seed) {}
  double uniform01() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform_open() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }  // (0, 1)
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {  // [lo, hi]
    __extension__ using U128 = unsigned __int128;  // Lemire's multiply-shift: unbiased enough, portable
    const auto span = static_cast<U128>(hi - lo + 1);
    return lo + static_cast<std::int64_t>((static_cast<U128>(engine_()) * span) >> 64);
  }
  double normal() {  // Box-Muller
    const double u1 = uniform_open();
    const double u2 = uniform01();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

 private:
  std::mt19937_64 engine_;
};

struct NamedDistribution {
  LengthDistribution d;
  std::string_view name;
};
constexpr NamedDistribution kDistributions[] = {{LengthDistribution::kFixed, "fixed"},
                                                {LengthDistribution::kUniform, "uniform"},
                                                {LengthDistribution::kLognormal, "lognormal"},
                                                {LengthDistribution::kPareto, "pareto"}};

Status check_spec(const GeneratorSpec& s) {
  auto fail = [](const std::string& flag, const std::string& what) { return bad_input(flag + ": " + what); };
  if (s.seq_len <= 0 || s.seq_len > kMaxTokens) {
    return fail("--seq-len", "must be in [1, 2^24], got " + std::to_string(s.seq_len));
  }
  if (s.rows <= 0 || s.rows > kMaxTokens / s.seq_len) {
    return fail("--rows", "must be from 1 to " + std::to_string(kMaxTokens / s.seq_len) + " (2^24 tokens in all), got " + std::to_string(s.rows));
  }
  if (s.multiple_of <= 0) return fail("--multiple-of", "must be positive, got " + std::to_string(s.multiple_of));
  if (s.seq_len % s.multiple_of != 0) {
    return fail("--multiple-of", std::to_string(s.multiple_of) + " does not divide --seq-len " + std::to_string(s.seq_len));
  }
  if (s.min_len <= 0) return fail("--min-len", "must be positive, got " + std::to_string(s.min_len));
  if (s.max_len < 0) return fail("--max-len", "must not be negative, got " + std::to_string(s.max_len));
  if (s.max_len > 0 && s.max_len < s.min_len) {
    return fail("--max-len", std::to_string(s.max_len) + " is below --min-len " + std::to_string(s.min_len));
  }
  switch (s.distribution) {
    case LengthDistribution::kFixed:
      if (s.length <= 0) return fail("--length", "fixed lengths need a positive --length, got " + std::to_string(s.length));
      break;
    case LengthDistribution::kUniform:
      if (s.max_len <= 0) return fail("--max-len", "uniform lengths need --max-len");
      break;
    case LengthDistribution::kLognormal:
      if (!(s.mean >= 1.0) || !std::isfinite(s.mean)) return fail("--mean", "lognormal needs a mean of at least 1 token, got " + std::to_string(s.mean));
      if (!(s.sigma >= 0.0) || !std::isfinite(s.sigma)) return fail("--sigma", "must be a finite number >= 0, got " + std::to_string(s.sigma));
      break;
    case LengthDistribution::kPareto:
      if (!(s.alpha > 0.0) || !std::isfinite(s.alpha)) return fail("--alpha", "must be a finite number > 0, got " + std::to_string(s.alpha));
      break;
  }
  return Ok{};
}

double draw_length(const GeneratorSpec& s, Sampler& rng) {
  switch (s.distribution) {
    case LengthDistribution::kFixed: return static_cast<double>(s.length);
    case LengthDistribution::kUniform: return static_cast<double>(rng.uniform_int(s.min_len, s.max_len));
    case LengthDistribution::kLognormal: {
      const double mu = std::log(s.mean) - 0.5 * s.sigma * s.sigma;  // so that E[length] = mean
      return std::exp(mu + s.sigma * rng.normal());
    }
    case LengthDistribution::kPareto: return static_cast<double>(s.min_len) / std::pow(rng.uniform_open(), 1.0 / s.alpha);
  }
  return 1.0;
}

}  // namespace

std::optional<LengthDistribution> parse_length_distribution(std::string_view name) {
  for (const auto& d : kDistributions) {
    if (d.name == name) return d.d;
  }
  return std::nullopt;
}

std::string_view length_distribution_name(LengthDistribution dist) {
  for (const auto& d : kDistributions) {
    if (d.d == dist) return d.name;
  }
  return "unknown";
}

Result<Workload> generate_workload(const GeneratorSpec& spec) {
  if (auto ok = check_spec(spec); !ok) return ok.error();
  Sampler rng(spec.seed);
  const std::int64_t m = spec.multiple_of;
  const std::int64_t cap = spec.max_len > 0 ? std::min(spec.max_len, spec.seq_len) : spec.seq_len;
  Workload w;
  w.seq_len = spec.seq_len;
  w.mask = spec.mask;
  w.model = spec.model;
  w.description = "made by: " + generator_command(spec);
  for (std::int64_t row = 0; row < spec.rows; ++row) {
    std::vector<std::int64_t> docs;
    std::int64_t remaining = spec.seq_len;
    while (remaining > 0) {
      const double drawn = std::clamp(draw_length(spec, rng), static_cast<double>(spec.min_len), static_cast<double>(cap));
      auto length = static_cast<std::int64_t>(std::llround(drawn / static_cast<double>(m))) * m;
      length = std::clamp(std::max(length, m), m, remaining);  // remaining is itself a multiple of m
      docs.push_back(length);
      remaining -= length;
    }
    w.documents.push_back(std::move(docs));
  }
  if (auto ok = validate_workload(w, "generated workload"); !ok) return ok.error();
  return w;
}

std::string generator_command(const GeneratorSpec& s) {
  std::ostringstream out;
  out << "cpsim generate --seq-len " << s.seq_len << " --rows " << s.rows << " --dist "
      << length_distribution_name(s.distribution);
  switch (s.distribution) {
    case LengthDistribution::kFixed: out << " --length " << s.length; break;
    case LengthDistribution::kUniform: break;
    case LengthDistribution::kLognormal: out << " --mean " << s.mean << " --sigma " << s.sigma; break;
    case LengthDistribution::kPareto: out << " --alpha " << s.alpha; break;
  }
  if (s.min_len != 1 || s.distribution == LengthDistribution::kUniform || s.distribution == LengthDistribution::kPareto) {
    out << " --min-len " << s.min_len;
  }
  if (s.max_len > 0) out << " --max-len " << s.max_len;
  if (s.multiple_of != 1) out << " --multiple-of " << s.multiple_of;
  out << " --seed " << s.seed << " --mask " << mask_kind_name(s.mask.kind);
  if (mask_needs_window(s.mask.kind)) out << " --window " << s.mask.window;
  if (mask_needs_prefix(s.mask.kind)) out << " --prefix " << s.mask.prefix;
  out << " --q-heads " << s.model.q_heads << " --kv-heads " << s.model.kv_heads << " --head-dim " << s.model.head_dim
      << " --dtype " << s.model.dtype;
  return out.str();
}

}  // namespace cpsim
