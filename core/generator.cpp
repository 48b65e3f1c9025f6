// Document-length sampling (fixed, uniform, lognormal, Pareto, and weighted mixtures of them) and packing into rows.
#include "generator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
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
                                                {LengthDistribution::kPareto, "pareto"},
                                                {LengthDistribution::kMixture, "mixture"}};

// The parameters of one distribution: the spec's own, or a mixture component's.
MixtureComponent params_of(const GeneratorSpec& s) {
  MixtureComponent p;
  p.distribution = s.distribution;
  p.length = s.length;
  p.min_len = s.min_len;
  p.max_len = s.max_len;
  p.mean = s.mean;
  p.sigma = s.sigma;
  p.alpha = s.alpha;
  return p;
}

// How a parameter is named in errors: as a flag ("--mean") in the field and in the text, or inside --mix
// ("--mix: component 2 (lognormal): mean" in the field, "mean" in the text).
struct ParamNames {
  std::string field_prefix = "--";
  std::string text_prefix = "--";
  bool flags = true;
  std::string field(const std::string& key) const { return field_prefix + (flags ? dashed(key) : key); }
  std::string text(const std::string& key) const { return text_prefix + (flags ? dashed(key) : key); }
  static std::string dashed(std::string key) {
    for (char& c : key) c = c == '_' ? '-' : c;
    return key;
  }
};

Status check_params(const MixtureComponent& p, const ParamNames& n) {
  auto fail = [&](const std::string& key, const std::string& what) { return bad_input(n.field(key) + ": " + what); };
  if (p.min_len <= 0) return fail("min_len", "must be positive, got " + std::to_string(p.min_len));
  if (p.max_len < 0) return fail("max_len", "must not be negative, got " + std::to_string(p.max_len));
  if (p.max_len > 0 && p.max_len < p.min_len) {
    return fail("max_len", std::to_string(p.max_len) + " is below " + n.text("min_len") + " " + std::to_string(p.min_len));
  }
  switch (p.distribution) {
    case LengthDistribution::kFixed:
      if (p.length <= 0) return fail("length", "fixed lengths need a positive " + n.text("length") + ", got " + std::to_string(p.length));
      break;
    case LengthDistribution::kUniform:
      if (p.max_len <= 0) return fail("max_len", "uniform lengths need " + n.text("max_len"));
      break;
    case LengthDistribution::kLognormal:
      if (!(p.mean >= 1.0) || !std::isfinite(p.mean)) {
        return fail("mean", "lognormal needs a mean of at least 1 token, got " + std::to_string(p.mean));
      }
      if (!(p.sigma >= 0.0) || !std::isfinite(p.sigma)) return fail("sigma", "must be a finite number >= 0, got " + std::to_string(p.sigma));
      break;
    case LengthDistribution::kPareto:
      if (!(p.alpha > 0.0) || !std::isfinite(p.alpha)) return fail("alpha", "must be a finite number > 0, got " + std::to_string(p.alpha));
      break;
    case LengthDistribution::kMixture: return fail("distribution", "a mixture cannot hold a mixture");
  }
  return Ok{};
}

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
  if (s.distribution != LengthDistribution::kMixture) return check_params(params_of(s), ParamNames{});
  if (s.mixture.empty()) return fail("--mix", "--dist mixture needs --mix, e.g. \"lognormal:mean=4096,sigma=1.2:0.9;fixed:length=65536:0.1\"");
  for (std::size_t i = 0; i < s.mixture.size(); ++i) {
    const MixtureComponent& c = s.mixture[i];
    const ParamNames names{"--mix: component " + std::to_string(i + 1) + " (" + std::string(length_distribution_name(c.distribution)) + "): ", "",
                           false};
    if (!(c.weight > 0) || !std::isfinite(c.weight)) {
      return bad_input(names.field_prefix + "weight: must be a finite number above 0, got " + std::to_string(c.weight));
    }
    CPSIM_RETURN_IF_ERROR(check_params(c, names));
  }
  return Ok{};
}

double draw_length(const MixtureComponent& p, Sampler& rng) {
  switch (p.distribution) {
    case LengthDistribution::kFixed: return static_cast<double>(p.length);
    case LengthDistribution::kUniform: return static_cast<double>(rng.uniform_int(p.min_len, p.max_len));
    case LengthDistribution::kLognormal: {
      const double mu = std::log(p.mean) - 0.5 * p.sigma * p.sigma;  // so that E[length] = mean
      return std::exp(mu + p.sigma * rng.normal());
    }
    case LengthDistribution::kPareto: return static_cast<double>(p.min_len) / std::pow(rng.uniform_open(), 1.0 / p.alpha);
    case LengthDistribution::kMixture: break;  // check_spec refuses a mixture inside a mixture
  }
  return 1.0;
}

// The shortest decimal that reads back to the same double ("0.9", not "0.90000000000000002").
std::string shortest(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto at = text.find(sep);
    parts.push_back(trim(text.substr(0, at)));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// The keys each distribution takes in --mix (min_len and max_len clip every one).
std::vector<std::string_view> keys_of(LengthDistribution d) {
  switch (d) {
    case LengthDistribution::kFixed: return {"length", "min_len", "max_len"};
    case LengthDistribution::kUniform: return {"min_len", "max_len"};
    case LengthDistribution::kLognormal: return {"mean", "sigma", "min_len", "max_len"};
    case LengthDistribution::kPareto: return {"alpha", "min_len", "max_len"};
    case LengthDistribution::kMixture: break;
  }
  return {};
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

Result<std::vector<MixtureComponent>> parse_mixture(std::string_view text, const GeneratorSpec& defaults) {
  constexpr std::size_t kMaxComponents = 64;
  std::vector<MixtureComponent> out;
  const auto parts = split(text, ';');
  if (parts.size() > kMaxComponents) {
    return bad_input("--mix: " + std::to_string(parts.size()) + " components, more than the " + std::to_string(kMaxComponents) + " a mixture may have");
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string at = "--mix: component " + std::to_string(i + 1);
    if (parts[i].empty() && i + 1 == parts.size() && i > 0) break;  // a trailing ';'
    const auto fields = split(parts[i], ':');
    if (fields.size() != 3) {
      return bad_input(at + ": \"" + std::string(parts[i]) + "\" is not NAME:KEY=VALUE,...:WEIGHT (e.g. lognormal:mean=4096,sigma=1.2:0.9)");
    }
    const auto d = parse_length_distribution(fields[0]);
    if (!d || *d == LengthDistribution::kMixture) {
      return bad_input(at + ": unknown distribution \"" + std::string(fields[0]) + "\" (expected fixed, uniform, lognormal or pareto)");
    }
    MixtureComponent c = params_of(defaults);
    c.distribution = *d;
    const std::string named = at + " (" + std::string(fields[0]) + ")";
    const auto keys = keys_of(*d);
    for (const std::string_view pair : split(fields[1], ',')) {
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      const std::string key(trim(pair.substr(0, eq)));
      if (eq == std::string_view::npos || std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::string list;
        for (const auto k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
        return bad_input(named + ": " + (eq == std::string_view::npos ? "expected KEY=VALUE, got \"" + std::string(pair) + "\""
                                                                      : "unknown parameter \"" + key + "\"") +
                         " (" + std::string(fields[0]) + " takes " + list + ")");
      }
      const std::string value(trim(pair.substr(eq + 1)));
      if (key == "length" || key == "min_len" || key == "max_len") {
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
          return bad_input(named + ": " + key + ": \"" + value + "\" is not an integer in plain decimal");
        }
        (key == "length" ? c.length : key == "min_len" ? c.min_len : c.max_len) = v;
      } else {
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v)) {
          return bad_input(named + ": " + key + ": \"" + value + "\" is not a finite number");
        }
        (key == "mean" ? c.mean : key == "sigma" ? c.sigma : c.alpha) = v;
      }
    }
    char* end = nullptr;
    const std::string weight(fields[2]);
    c.weight = std::strtod(weight.c_str(), &end);
    if (weight.empty() || end != weight.c_str() + weight.size() || !std::isfinite(c.weight) || !(c.weight > 0)) {
      return bad_input(named + ": weight: must be a finite number above 0, got \"" + weight + "\"");
    }
    out.push_back(c);
  }
  if (out.empty()) return bad_input("--mix: no components in \"" + std::string(text) + "\"");
  return out;
}

std::string mixture_text(const std::vector<MixtureComponent>& mixture) {
  std::string out;
  for (const MixtureComponent& c : mixture) {
    if (!out.empty()) out += ";";
    out += std::string(length_distribution_name(c.distribution)) + ":";
    std::string params;
    auto add = [&](const char* key, const std::string& value) { params += (params.empty() ? "" : ",") + std::string(key) + "=" + value; };
    switch (c.distribution) {
      case LengthDistribution::kFixed: add("length", std::to_string(c.length)); break;
      case LengthDistribution::kUniform: break;
      case LengthDistribution::kLognormal: add("mean", shortest(c.mean)); add("sigma", shortest(c.sigma)); break;
      case LengthDistribution::kPareto: add("alpha", shortest(c.alpha)); break;
      case LengthDistribution::kMixture: break;
    }
    if (c.min_len != 1 || c.distribution == LengthDistribution::kUniform || c.distribution == LengthDistribution::kPareto) {
      add("min_len", std::to_string(c.min_len));
    }
    if (c.max_len > 0) add("max_len", std::to_string(c.max_len));
    out += params + ":" + shortest(c.weight);
  }
  return out;
}

Result<Workload> generate_workload(const GeneratorSpec& spec) {
  if (auto ok = check_spec(spec); !ok) return ok.error();
  Sampler rng(spec.seed);
  const std::int64_t m = spec.multiple_of;
  const bool mixed = spec.distribution == LengthDistribution::kMixture;
  const std::vector<MixtureComponent> components = mixed ? spec.mixture : std::vector<MixtureComponent>{params_of(spec)};
  std::vector<double> cumulative;  // the components' weights, summed in order: a draw in [0, total) picks one
  double total = 0;
  for (const MixtureComponent& c : components) cumulative.push_back(total += c.weight);
  Workload w;
  w.seq_len = spec.seq_len;
  w.mask = spec.mask;
  w.model = spec.model;
  w.description = "made by: " + generator_command(spec);
  for (std::int64_t row = 0; row < spec.rows; ++row) {
    std::vector<std::int64_t> docs;
    std::int64_t remaining = spec.seq_len;
    while (remaining > 0) {
      std::size_t pick = 0;
      if (mixed) {
        const double u = rng.uniform01() * total;
        while (pick + 1 < cumulative.size() && u >= cumulative[pick]) ++pick;
      }
      const MixtureComponent& c = components[pick];
      const std::int64_t cap = c.max_len > 0 ? std::min(c.max_len, spec.seq_len) : spec.seq_len;
      const double drawn = std::clamp(draw_length(c, rng), static_cast<double>(std::min(c.min_len, cap)), static_cast<double>(cap));
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
    case LengthDistribution::kMixture: out << " --mix '" << mixture_text(s.mixture) << "'"; break;
  }
  const bool mixed = s.distribution == LengthDistribution::kMixture;  // its components carry their own clips
  if (!mixed && (s.min_len != 1 || s.distribution == LengthDistribution::kUniform || s.distribution == LengthDistribution::kPareto)) {
    out << " --min-len " << s.min_len;
  }
  if (!mixed && s.max_len > 0) out << " --max-len " << s.max_len;
  if (s.multiple_of != 1) out << " --multiple-of " << s.multiple_of;
  out << " --seed " << s.seed << " --mask " << mask_kind_name(s.mask.kind);
  if (mask_needs_window(s.mask.kind)) out << " --window " << s.mask.window;
  if (mask_needs_prefix(s.mask.kind)) out << " --prefix " << s.mask.prefix;
  out << " --q-heads " << s.model.q_heads << " --kv-heads " << s.model.kv_heads << " --head-dim " << s.model.head_dim
      << " --dtype " << s.model.dtype;
  return out.str();
}

}  // namespace cpsim
