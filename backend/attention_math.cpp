// Block attention, LSE merge and the fp64 reference on the CPU.
#include "backend/attention_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>

namespace cpsim {
namespace {

// A block's keys sorted by position, so each query visits just the keys of its interval.
struct SortedKeys {
  std::vector<std::int64_t> order;      // indices into the block's keys, by position
  std::vector<std::int64_t> positions;  // their positions, ascending

  explicit SortedKeys(const std::vector<std::int64_t>& k_positions) : order(k_positions.size()) {
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      return k_positions[static_cast<std::size_t>(a)] < k_positions[static_cast<std::size_t>(b)];
    });
    for (const std::int64_t i : order) positions.push_back(k_positions[static_cast<std::size_t>(i)]);
  }
  // [first, last) into `order`: the keys inside `iv`.
  std::pair<std::ptrdiff_t, std::ptrdiff_t> range(const KeyInterval& iv) const {
    return {std::lower_bound(positions.begin(), positions.end(), iv.lo) - positions.begin(),
            std::upper_bound(positions.begin(), positions.end(), iv.hi) - positions.begin()};
  }
};

// Every original position of a row, 0..S-1: the reference's queries and keys.
std::vector<std::int64_t> all_positions(std::int64_t s) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(s));
  std::iota(all.begin(), all.end(), 0);
  return all;
}

std::int64_t core_count() { return static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency())); }

// Runs fn(worker, first, last) on one thread per core over [0, s) cut into even ranges.
template <typename F>
void split_over_cores(std::int64_t s, F fn) {
  const std::int64_t workers = core_count();
  std::vector<std::thread> pool;
  for (std::int64_t t = 0; t < workers; ++t) pool.emplace_back(fn, t, s * t / workers, s * (t + 1) / workers);
  for (auto& th : pool) th.join();
}

}  // namespace

PartialAttention attend_block(const AttentionShape& shape, const RowMask& mask, const std::vector<std::int64_t>& q_positions,
                              const std::vector<float>& q_values, const std::vector<std::int64_t>& k_positions,
                              const std::vector<float>& k_values, const std::vector<float>& v_values) {
  const std::int64_t hq = shape.q_heads, hkv = shape.kv_heads, d = shape.head_dim;
  const auto nq = static_cast<std::int64_t>(q_positions.size());
  PartialAttention r;
  r.out.assign(static_cast<std::size_t>(nq * hq * d), 0.0f);
  r.lse.assign(static_cast<std::size_t>(nq * hq), -std::numeric_limits<float>::infinity());
  const SortedKeys keys(k_positions);
  const auto& order = keys.order;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  std::vector<float> scores;
  for (std::int64_t qi = 0; qi < nq; ++qi) {
    const KeyInterval iv = mask.interval(q_positions[static_cast<std::size_t>(qi)]);
    const auto [first, last] = keys.range(iv);
    if (first >= last) continue;
    for (std::int64_t h = 0; h < hq; ++h) {
      const float* q = &q_values[static_cast<std::size_t>((qi * hq + h) * d)];
      const std::int64_t kh = shape.kv_head_of(h);
      scores.clear();
      float max_score = -std::numeric_limits<float>::infinity();
      for (auto j = first; j < last; ++j) {
        const float* k = &k_values[static_cast<std::size_t>((order[static_cast<std::size_t>(j)] * hkv + kh) * d)];
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (std::int64_t x = 0; x < d; ++x) s += q[x] * k[x];
        s *= scale;
        scores.push_back(s);
        max_score = std::max(max_score, s);
      }
      float sum = 0;
      float* o = &r.out[static_cast<std::size_t>((qi * hq + h) * d)];
      for (auto j = first; j < last; ++j) {
        const float p = std::exp(scores[static_cast<std::size_t>(j - first)] - max_score);
        sum += p;
        const float* v = &v_values[static_cast<std::size_t>((order[static_cast<std::size_t>(j)] * hkv + kh) * d)];
        for (std::int64_t x = 0; x < d; ++x) o[x] += p * v[x];
      }
      for (std::int64_t x = 0; x < d; ++x) o[x] /= sum;
      r.lse[static_cast<std::size_t>(qi * hq + h)] = max_score + std::log(sum);
    }
  }
  return r;
}

void attend_block_backward(const AttentionShape& shape, const RowMask& mask, const std::vector<std::int64_t>& q_positions,
                           const std::vector<float>& q_values, const std::vector<float>& dout, const std::vector<float>& lse,
                           const std::vector<float>& delta, const std::vector<std::int64_t>& k_positions,
                           const std::vector<float>& k_values, const std::vector<float>& v_values, std::vector<float>& dq,
                           std::vector<float>& dk, std::vector<float>& dv) {
  const std::int64_t hq = shape.q_heads, hkv = shape.kv_heads, d = shape.head_dim;
  dk.assign(k_positions.size() * static_cast<std::size_t>(hkv * d), 0.0f);
  dv.assign(dk.size(), 0.0f);
  const SortedKeys keys(k_positions);
  const auto& order = keys.order;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (std::size_t qi = 0; qi < q_positions.size(); ++qi) {
    const KeyInterval iv = mask.interval(q_positions[qi]);
    const auto [first, last] = keys.range(iv);
    for (std::int64_t h = 0; h < hq; ++h) {
      const std::size_t row = qi * static_cast<std::size_t>(hq) + static_cast<std::size_t>(h);
      if (std::isinf(lse[row])) continue;  // the query saw no key anywhere
      const float* q = &q_values[row * static_cast<std::size_t>(d)];
      const float* go = &dout[row * static_cast<std::size_t>(d)];
      float* gq = &dq[row * static_cast<std::size_t>(d)];
      const std::int64_t kh = shape.kv_head_of(h);
      for (auto j = first; j < last; ++j) {
        const auto at = static_cast<std::size_t>((order[static_cast<std::size_t>(j)] * hkv + kh) * d);
        const float* k = &k_values[at];
        const float* v = &v_values[at];
        float s = 0, dp = 0;
#pragma omp simd reduction(+ : s, dp)
        for (std::int64_t x = 0; x < d; ++x) {
          s += q[x] * k[x];
          dp += go[x] * v[x];
        }
        const float p = std::exp(s * scale - lse[row]);
        const float ds = p * (dp - delta[row]) * scale;
        float* gk = &dk[at];
        float* gv = &dv[at];
        for (std::int64_t x = 0; x < d; ++x) {
          gv[x] += p * go[x];
          gq[x] += ds * k[x];
          gk[x] += ds * q[x];
        }
      }
    }
  }
}

void merge_into(PartialAttention& acc, const PartialAttention& block, std::int64_t head_dim) {
  for (std::size_t i = 0; i < acc.lse.size(); ++i) {
    const float lb = block.lse[i];
    if (std::isinf(lb)) continue;  // the block saw nothing for this row
    float* o = &acc.out[i * static_cast<std::size_t>(head_dim)];
    const float* ob = &block.out[i * static_cast<std::size_t>(head_dim)];
    const float la = acc.lse[i];
    if (std::isinf(la)) {  // first contribution: initialise
      std::copy(ob, ob + head_dim, o);
      acc.lse[i] = lb;
      continue;
    }
    const float w = 1.0f / (1.0f + std::exp(la - lb));  // sigmoid(lb - la)
    for (std::int64_t x = 0; x < head_dim; ++x) o[x] -= w * (o[x] - ob[x]);
    const float diff = la - lb;  // lse - logsigmoid(lse - lse_blk) = lse + log(1 + exp(lse_blk - lse))
    acc.lse[i] = la + (diff > 0 ? std::log1p(std::exp(-diff)) : -diff + std::log1p(std::exp(diff)));
  }
}

ReferenceAttention reference_attention(const AttentionShape& shape, const RowMask& mask, std::int64_t row, std::uint64_t seed) {
  return reference_attention_at(shape, mask, row, seed, all_positions(shape.seq_len), InputPrecision::kFp32);
}

ReferenceAttention reference_attention_at(const AttentionShape& shape, const RowMask& mask, std::int64_t row, std::uint64_t seed,
                                          const std::vector<std::int64_t>& positions, InputPrecision precision) {
  const std::int64_t s = shape.seq_len, hq = shape.q_heads, hkv = shape.kv_heads, d = shape.head_dim;
  const auto n = static_cast<std::int64_t>(positions.size());
  const std::vector<std::int64_t> all = all_positions(s);
  const std::vector<float> q = make_input(Tensor::kQ, shape, row, positions, seed, precision);
  const std::vector<float> k = make_input(Tensor::kK, shape, row, all, seed, precision);
  const std::vector<float> v = make_input(Tensor::kV, shape, row, all, seed, precision);
  ReferenceAttention r;
  r.out.assign(static_cast<std::size_t>(n * hq * d), 0.0);
  r.lse.assign(static_cast<std::size_t>(n * hq), 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // Queries are independent: split them over the cores.
  split_over_cores(n, [&](std::int64_t, std::int64_t first, std::int64_t last) {
    std::vector<double> scores;
    for (std::int64_t i = first; i < last; ++i) {
      const KeyInterval iv = mask.interval(positions[static_cast<std::size_t>(i)]);
      for (std::int64_t h = 0; h < hq; ++h) {
        const std::int64_t kh = shape.kv_head_of(h);
        scores.clear();
        double max_score = -std::numeric_limits<double>::infinity();
        for (std::int64_t j = iv.lo; j <= iv.hi; ++j) {
          double dot = 0;
#pragma omp simd reduction(+ : dot)
          for (std::int64_t x = 0; x < d; ++x) {
            dot += static_cast<double>(q[static_cast<std::size_t>((i * hq + h) * d + x)]) * k[static_cast<std::size_t>((j * hkv + kh) * d + x)];
          }
          scores.push_back(dot * scale);
          max_score = std::max(max_score, dot * scale);
        }
        double sum = 0;
        double* o = &r.out[static_cast<std::size_t>((i * hq + h) * d)];
        for (std::int64_t j = iv.lo; j <= iv.hi; ++j) {
          const double w = std::exp(scores[static_cast<std::size_t>(j - iv.lo)] - max_score);
          sum += w;
          for (std::int64_t x = 0; x < d; ++x) o[x] += w * v[static_cast<std::size_t>((j * hkv + kh) * d + x)];
        }
        for (std::int64_t x = 0; x < d; ++x) o[x] /= sum;
        r.lse[static_cast<std::size_t>(i * hq + h)] = max_score + std::log(sum);
      }
    }
  });
  return r;
}

ReferenceGradients reference_gradients(const AttentionShape& shape, const RowMask& mask, std::int64_t row, std::uint64_t seed,
                                       const ReferenceAttention& forward) {
  const std::int64_t s = shape.seq_len, hq = shape.q_heads, hkv = shape.kv_heads, d = shape.head_dim;
  const std::vector<std::int64_t> all = all_positions(s);
  const std::vector<float> q = make_input(Tensor::kQ, shape, row, all, seed);
  const std::vector<float> k = make_input(Tensor::kK, shape, row, all, seed);
  const std::vector<float> v = make_input(Tensor::kV, shape, row, all, seed);
  const std::vector<float> dout = make_input(Tensor::kDout, shape, row, all, seed);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  ReferenceGradients g;
  g.dq.assign(static_cast<std::size_t>(s * hq * d), 0.0);
  // Queries are split over the cores; dK/dV gather contributions from many queries, so each worker keeps
  // its own and they are summed at the end.
  const std::int64_t workers = core_count();
  std::vector<std::vector<double>> dk(static_cast<std::size_t>(workers)), dv(static_cast<std::size_t>(workers));
  split_over_cores(s, [&](std::int64_t worker, std::int64_t first, std::int64_t last) {
    auto& gk = dk[static_cast<std::size_t>(worker)];
    auto& gv = dv[static_cast<std::size_t>(worker)];
    gk.assign(static_cast<std::size_t>(s * hkv * d), 0.0);
    gv.assign(gk.size(), 0.0);
    for (std::int64_t p = first; p < last; ++p) {
      const KeyInterval iv = mask.interval(p);
      for (std::int64_t h = 0; h < hq; ++h) {
        const auto at = static_cast<std::size_t>((p * hq + h) * d);
        const std::int64_t kh = shape.kv_head_of(h);
        double delta = 0;
        for (std::int64_t x = 0; x < d; ++x) delta += static_cast<double>(dout[at + static_cast<std::size_t>(x)]) * forward.out[at + static_cast<std::size_t>(x)];
        const double lse = forward.lse[static_cast<std::size_t>(p * hq + h)];
        for (std::int64_t j = iv.lo; j <= iv.hi; ++j) {
          const auto kat = static_cast<std::size_t>((j * hkv + kh) * d);
          double dot = 0, dp = 0;
          for (std::int64_t x = 0; x < d; ++x) {
            dot += static_cast<double>(q[at + static_cast<std::size_t>(x)]) * k[kat + static_cast<std::size_t>(x)];
            dp += static_cast<double>(dout[at + static_cast<std::size_t>(x)]) * v[kat + static_cast<std::size_t>(x)];
          }
          const double prob = std::exp(dot * scale - lse);
          const double ds = prob * (dp - delta) * scale;
          for (std::int64_t x = 0; x < d; ++x) {
            const auto xi = static_cast<std::size_t>(x);
            gv[kat + xi] += prob * dout[at + xi];
            g.dq[at + xi] += ds * k[kat + xi];
            gk[kat + xi] += ds * q[at + xi];
          }
        }
      }
    }
  });
  g.dk.assign(static_cast<std::size_t>(s * hkv * d), 0.0);
  g.dv.assign(g.dk.size(), 0.0);
  for (std::int64_t t = 0; t < workers; ++t) {
    for (std::size_t i = 0; i < g.dk.size(); ++i) {
      g.dk[i] += dk[static_cast<std::size_t>(t)][i];
      g.dv[i] += dv[static_cast<std::size_t>(t)][i];
    }
  }
  return g;
}

}  // namespace cpsim
