// Deterministic attention inputs: every element of Q, K and V is a hash of (tensor, row, position, head,
// dim, seed), so any rank (thread, process or GPU) can make its own shard without communication and the
// reference sees exactly the same numbers.
#pragma once

#include <cstdint>
#include <vector>

namespace cpsim {

struct AttentionShape {
  std::int64_t rows = 1;
  std::int64_t seq_len = 0;
  std::int64_t q_heads = 1;
  std::int64_t kv_heads = 1;
  std::int64_t head_dim = 16;
  std::int64_t kv_head_of(std::int64_t q_head) const { return q_head / (q_heads / kv_heads); }
};

enum class Tensor : std::uint64_t { kQ = 1, kK = 2, kV = 3, kDout = 4 };  // kDout: the output's gradient (q heads)

// The values the kernels see: fp32 (the CPU executors), or rounded to bf16 (the CUDA executors' inputs).
enum class InputPrecision { kFp32, kBf16 };

// bf16 bits of `f`, rounded to nearest even, and the float they stand for.
std::uint16_t to_bf16_bits(float f);
float round_to_bf16(float f);

// Uniform in [-1, 1).
float input_value(Tensor t, std::int64_t row, std::int64_t position, std::int64_t head, std::int64_t dim, std::uint64_t seed);

// One tensor's values for the given original positions of one row: [positions][heads][head_dim].
std::vector<float> make_input(Tensor t, const AttentionShape& shape, std::int64_t row, const std::vector<std::int64_t>& positions,
                              std::uint64_t seed, InputPrecision precision = InputPrecision::kFp32);

}  // namespace cpsim
