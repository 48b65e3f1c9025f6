// splitmix64-based input generation, and bf16 rounding.
#include "backend/inputs.h"

#include <cstring>

namespace cpsim {
namespace {

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint16_t to_bf16_bits(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<std::uint16_t>(bits >> 16);
}

float round_to_bf16(float f) {
  const std::uint32_t bits = static_cast<std::uint32_t>(to_bf16_bits(f)) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

float input_value(Tensor t, std::int64_t row, std::int64_t position, std::int64_t head, std::int64_t dim, std::uint64_t seed) {
  std::uint64_t h = mix(seed ^ static_cast<std::uint64_t>(t));
  h = mix(h ^ static_cast<std::uint64_t>(row));
  h = mix(h ^ static_cast<std::uint64_t>(position));
  h = mix(h ^ (static_cast<std::uint64_t>(head) << 32 | static_cast<std::uint64_t>(dim)));
  return static_cast<float>(static_cast<double>(h >> 40) * 0x1.0p-23 - 1.0);  // 24 bits: exact in float
}

std::vector<float> make_input(Tensor t, const AttentionShape& shape, std::int64_t row, const std::vector<std::int64_t>& positions,
                              std::uint64_t seed, InputPrecision precision) {
  const bool bf16 = precision == InputPrecision::kBf16;
  const std::int64_t heads = t == Tensor::kQ || t == Tensor::kDout ? shape.q_heads : shape.kv_heads;
  std::vector<float> out;
  out.reserve(positions.size() * static_cast<std::size_t>(heads * shape.head_dim));
  for (const std::int64_t p : positions) {
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t d = 0; d < shape.head_dim; ++d) {
        const float v = input_value(t, row, p, h, d, seed);
        out.push_back(bf16 ? round_to_bf16(v) : v);
      }
    }
  }
  return out;
}

}  // namespace cpsim
