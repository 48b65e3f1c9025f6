// CPU attention on interval masks: one block (local queries against a set of keys) with its log-sum-exp,
// the fp32 LSE merge of PyTorch's ring (_templated_ring_attention in torch/distributed/tensor/experimental/
// _context_parallel/_attention.py; the form of zhuzilin/ring-flash-attention PR #34), one block's gradients,
// and the single-device references of both passes.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/inputs.h"
#include "core/mask.h"

namespace cpsim {

// Output and LSE of some query rows: out[q][head][dim], lse[q][head]; lse = -inf where a row saw no key.
struct PartialAttention {
  std::vector<float> out;
  std::vector<float> lse;
};

// Queries at original `q_positions` (values q_values, [q][hq][d]) against keys at `k_positions`
// (k_values / v_values, [k][hkv][d]), masked by `mask` on original positions. Visits only visible keys.
PartialAttention attend_block(const AttentionShape& shape, const RowMask& mask, const std::vector<std::int64_t>& q_positions,
                              const std::vector<float>& q_values, const std::vector<std::int64_t>& k_positions,
                              const std::vector<float>& k_values, const std::vector<float>& v_values);

// acc <- acc (+) block, per (query, head), in fp32:
//   out <- out - sigmoid(lse_blk - lse) * (out - out_blk);  lse <- lse - logsigmoid(lse - lse_blk)
void merge_into(PartialAttention& acc, const PartialAttention& block, std::int64_t head_dim);

// Backward of one block, FlashAttention's recomputation: with the final (merged) lse and
// delta = rowsum(dout * out) per (query, head), p = exp(s - lse), dv += p dout, ds = p (dout . v - delta),
// dq += scale ds k, dk += scale ds q. `dq` ([nq][hq][d]) accumulates over blocks; `dk`, `dv`
// ([nk][hkv][d], in k_positions order) are set to this block's contribution.
void attend_block_backward(const AttentionShape& shape, const RowMask& mask, const std::vector<std::int64_t>& q_positions,
                           const std::vector<float>& q_values, const std::vector<float>& dout, const std::vector<float>& lse,
                           const std::vector<float>& delta, const std::vector<std::int64_t>& k_positions,
                           const std::vector<float>& k_values, const std::vector<float>& v_values, std::vector<float>& dq,
                           std::vector<float>& dk, std::vector<float>& dv);

// Single-device reference in fp64 for one row: out[position][hq][d], lse[position][hq] in original order.
struct ReferenceAttention {
  std::vector<double> out;
  std::vector<double> lse;
};
ReferenceAttention reference_attention(const AttentionShape& shape, const RowMask& mask, std::int64_t row, std::uint64_t seed);
// The same at some original positions only (out[i][hq][d], lse[i][hq] for positions[i]), from inputs at
// `precision`: how the GPU executors check long rows, whose whole reference would take too long.
ReferenceAttention reference_attention_at(const AttentionShape& shape, const RowMask& mask, std::int64_t row, std::uint64_t seed,
                                          const std::vector<std::int64_t>& positions, InputPrecision precision);

// Single-device gradients in fp64 for one row, original order: dq[position][hq][d], dk and dv
// [position][hkv][d], for the output gradient make_input(Tensor::kDout, ...).
struct ReferenceGradients {
  std::vector<double> dq, dk, dv;
};
ReferenceGradients reference_gradients(const AttentionShape& shape, const RowMask& mask, std::int64_t row, std::uint64_t seed,
                                       const ReferenceAttention& forward);

}  // namespace cpsim
