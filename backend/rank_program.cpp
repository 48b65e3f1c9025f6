// The per-rank program of `cpsim execute` with timings: forward by ring hops, one all-gather or the sparse
// exchange, then optionally backward the same way.
#include "backend/rank_program.h"

#include <chrono>
#include <limits>

#include "core/kv_demand.h"

namespace cpsim {
namespace {

using Clock = std::chrono::steady_clock;
double since_us(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

std::vector<std::int64_t> shard_positions(const RowLayout& layout, std::int64_t rank) {
  const std::int64_t n = layout.shard_len();
  return {layout.rearrange().begin() + rank * n, layout.rearrange().begin() + (rank + 1) * n};
}

// Ring tags (steps) of each exchange, so that no two share one: forward K/V hops 1..W-1, backward K/V hops
// W+1..2W-1, dK/dV hops 2W+1..3W, the sparse exchange [4W, 5W) and its gradients' return [5W, 6W).
std::int64_t backward_kv_tag(std::int64_t w, std::int64_t i) { return w + i; }
std::int64_t gradient_tag(std::int64_t w, std::int64_t i) { return 2 * w + i; }
std::int64_t sparse_tag(std::int64_t w) { return 4 * w; }
std::int64_t sparse_return_tag(std::int64_t w) { return 5 * w; }

class RankProgram {
 public:
  RankProgram(const Plan& plan, const RankOptions& o, Communicator& comm)
      : plan_(plan), o_(o), comm_(comm), r_(comm.rank()), w_(comm.size()), rows_(static_cast<std::size_t>(o.shape.rows)),
        kv_width_(static_cast<std::size_t>(o.shape.kv_heads * o.shape.head_dim)) {}

  Result<RankRun> run() {
    const auto t_start = Clock::now();
    prepare();
    CPSIM_RETURN_IF_ERROR(o_.exchange() == KvExchange::kSparse ? forward_sparse() : forward());
    run_.total_us = since_us(t_start);
    if (!o_.backward) return std::move(run_);
    const auto t_backward = Clock::now();
    prepare_backward();
    CPSIM_RETURN_IF_ERROR(o_.exchange() == KvExchange::kSparse ? backward_sparse() : backward());
    run_.backward_total_us = since_us(t_backward);
    return std::move(run_);
  }

 private:
  bool gathered() const { return o_.exchange() == KvExchange::kAllGather; }

  // Q, K, V of this rank's shard; an empty output per row; per-step timings.
  void prepare() {
    const AttentionShape& shape = o_.shape;
    for (std::size_t row = 0; row < rows_; ++row) {
      masks_.emplace_back(plan_.workload.mask, plan_.workload.seq_len, plan_.workload.documents[row]);
      q_pos_.push_back(shard_positions(plan_.layouts[row], r_));
      q_val_.push_back(make_input(Tensor::kQ, shape, static_cast<std::int64_t>(row), q_pos_[row], o_.seed));
    }
    kv_mine_ = pack_kv(q_pos_);
    const auto ws = static_cast<std::size_t>(w_);
    run_.compute_us.assign(ws, 0);
    run_.comm_us.assign(ws, 0);
    run_.comm_bytes.assign(ws, 0);
    for (std::size_t row = 0; row < rows_; ++row) {
      PartialAttention acc;
      acc.out.assign(q_pos_[row].size() * static_cast<std::size_t>(shape.q_heads * shape.head_dim), 0.0f);
      acc.lse.assign(q_pos_[row].size() * static_cast<std::size_t>(shape.q_heads), -std::numeric_limits<float>::infinity());
      run_.rows.push_back(std::move(acc));
    }
  }

  // K/V buffers hold, row after row, K then V of the given positions ([positions][kv heads][dim] each).
  std::vector<float> pack_kv(const std::vector<std::vector<std::int64_t>>& positions) const {
    std::vector<float> out;
    for (std::size_t row = 0; row < rows_; ++row) {
      for (const Tensor t : {Tensor::kK, Tensor::kV}) {
        const auto values = make_input(t, o_.shape, static_cast<std::int64_t>(row), positions[row], o_.seed);
        out.insert(out.end(), values.begin(), values.end());
      }
    }
    return out;
  }
  static std::size_t kv_values(const std::vector<std::vector<std::int64_t>>& positions, std::size_t kv_width) {
    std::size_t n = 0;
    for (const auto& p : positions) n += 2 * p.size() * kv_width;
    return n;
  }

  // Calls f(row, K, V) for each row's part of a K/V buffer laid out by `positions`.
  template <typename F>
  void for_each_row(const std::vector<float>& kv, const std::vector<std::vector<std::int64_t>>& positions, F&& f) const {
    std::size_t at = 0;
    for (std::size_t row = 0; row < rows_; ++row) {
      const std::size_t len = positions[row].size() * kv_width_;
      const auto base = kv.begin() + static_cast<std::ptrdiff_t>(at);
      f(row, std::vector<float>(base, base + static_cast<std::ptrdiff_t>(len)),
        std::vector<float>(base + static_cast<std::ptrdiff_t>(len), base + static_cast<std::ptrdiff_t>(2 * len)));
      at += 2 * len;
    }
  }

  // Attends this rank's queries to a K/V buffer and merges into the output (fp32 LSE merge).
  void attend(const std::vector<float>& kv, const std::vector<std::vector<std::int64_t>>& positions) {
    for_each_row(kv, positions, [&](std::size_t row, const std::vector<float>& k, const std::vector<float>& v) {
      merge_into(run_.rows[row], attend_block(o_.shape, masks_[row], q_pos_[row], q_val_[row], positions[row], k, v), o_.shape.head_dim);
    });
  }

  std::vector<std::vector<std::int64_t>> shard_of(std::int64_t rank) const {
    std::vector<std::vector<std::int64_t>> out;
    for (std::size_t row = 0; row < rows_; ++row) out.push_back(shard_positions(plan_.layouts[row], rank));
    return out;
  }

  Status forward() {
    std::vector<float> current = kv_mine_;
    if (gathered()) {
      const auto t0 = Clock::now();
      CPSIM_RETURN_IF_ERROR(comm_.all_gather(kv_mine_, gathered_));
      run_.comm_us[0] = since_us(t0);
      run_.comm_bytes[0] = static_cast<double>(kv_mine_.size() * sizeof(float)) * static_cast<double>(w_ - 1);
    }
    for (std::int64_t i = 0; i < w_; ++i) {
      const std::int64_t source = ring_source(r_, i, w_);
      if (!gathered() && i > 0) {
        const auto t0 = Clock::now();
        std::vector<float> received;
        CPSIM_RETURN_IF_ERROR(comm_.ring_shift(current, received, i));
        if (received.size() != current.size()) {
          return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(r_) + " received a K/V buffer of the wrong size at step " + std::to_string(i)};
        }
        current = std::move(received);
        run_.comm_us[static_cast<std::size_t>(i)] = since_us(t0);
        run_.comm_bytes[static_cast<std::size_t>(i)] = static_cast<double>(current.size() * sizeof(float));
      }
      const auto t0 = Clock::now();
      attend(gathered() ? gathered_[static_cast<std::size_t>(source)] : current, shard_of(source));
      run_.compute_us[static_cast<std::size_t>(i)] = since_us(t0);
      if (o_.progress != nullptr) ++o_.progress->steps_done;
    }
    return Ok{};
  }

  // The sparse gather: every rank sends each other rank exactly the K/V tokens that rank's queries can see
  // (core/kv_demand), in one all-to-all-v; the own K/V is attended first, then each source's tokens.
  Status forward_sparse() {
    std::vector<std::vector<std::vector<KeyInterval>>> visible;  // [row][rank]
    for (std::size_t row = 0; row < rows_; ++row) visible.push_back(visible_keys(plan_, row));
    const auto ws = static_cast<std::size_t>(w_);
    sent_pos_.assign(ws, {});
    received_pos_.assign(ws, {});
    std::vector<std::vector<float>> send(ws), received(ws);
    for (std::int64_t peer = 0; peer < w_; ++peer) {
      if (peer == r_) continue;
      const auto p = static_cast<std::size_t>(peer);
      for (std::size_t row = 0; row < rows_; ++row) {
        sent_pos_[p].push_back(positions_held(plan_.layouts[row], visible[row][p], r_));
        received_pos_[p].push_back(positions_held(plan_.layouts[row], visible[row][static_cast<std::size_t>(r_)], peer));
      }
      send[p] = pack_kv(sent_pos_[p]);
      received[p].resize(kv_values(received_pos_[p], kv_width_));
    }
    const auto t0 = Clock::now();
    CPSIM_RETURN_IF_ERROR(comm_.all_to_all_v(send, received, sparse_tag(w_)));
    // As for the all-gather, the one exchange and all it brought are booked on step 0 (calibrate fits
    // latency + bytes / bandwidth to such pairs).
    run_.comm_us[0] = since_us(t0);
    for (const auto& buffer : received) run_.comm_bytes[0] += static_cast<double>(buffer.size() * sizeof(float));
    for (std::int64_t i = 0; i < w_; ++i) {
      const auto source = static_cast<std::size_t>(ring_source(r_, i, w_));
      const auto t1 = Clock::now();
      if (i == 0) {
        attend(kv_mine_, q_pos_);
      } else {
        attend(received[source], received_pos_[source]);
      }
      run_.compute_us[static_cast<std::size_t>(i)] = since_us(t1);
      if (o_.progress != nullptr) ++o_.progress->steps_done;
    }
    sparse_kv_ = std::move(received);
    return Ok{};
  }

  // dout, delta = rowsum(dout * out) and zero dQ per row.
  void prepare_backward() {
    const auto ws = static_cast<std::size_t>(w_);
    run_.backward_compute_us.assign(ws, 0);
    run_.backward_comm_us.assign(ws, 0);
    run_.backward_comm_bytes.assign(ws, 0);
    const auto hq = static_cast<std::size_t>(o_.shape.q_heads), d = static_cast<std::size_t>(o_.shape.head_dim);
    for (std::size_t row = 0; row < rows_; ++row) {
      dout_.push_back(make_input(Tensor::kDout, o_.shape, static_cast<std::int64_t>(row), q_pos_[row], o_.seed));
      std::vector<float> delta(q_pos_[row].size() * hq, 0.0f);
      for (std::size_t i = 0; i < delta.size(); ++i) {
        for (std::size_t x = 0; x < d; ++x) delta[i] += dout_[row][i * d + x] * run_.rows[row].out[i * d + x];
      }
      delta_.push_back(std::move(delta));
      run_.grads.push_back({std::vector<float>(q_pos_[row].size() * hq * d, 0.0f), {}, {}});
    }
  }

  // This rank's dK/dV for a K/V buffer laid out by `positions` (the same layout), accumulating dQ.
  std::vector<float> gradients_for(const std::vector<float>& kv, const std::vector<std::vector<std::int64_t>>& positions) {
    std::vector<float> g;
    std::vector<float> dk, dv;
    for_each_row(kv, positions, [&](std::size_t row, const std::vector<float>& k, const std::vector<float>& v) {
      attend_block_backward(o_.shape, masks_[row], q_pos_[row], q_val_[row], dout_[row], run_.rows[row].lse, delta_[row],
                            positions[row], k, v, run_.grads[row].dq, dk, dv);
      g.insert(g.end(), dk.begin(), dk.end());
      g.insert(g.end(), dv.begin(), dv.end());
    });
    return g;
  }

  Status hop(const std::vector<float>& send, std::vector<float>& got, std::int64_t tag, std::size_t step) {
    const auto t0 = Clock::now();
    CPSIM_RETURN_IF_ERROR(comm_.ring_shift(send, got, tag));
    if (got.size() != send.size()) {
      return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(r_) + " received a buffer of the wrong size in backward hop " + std::to_string(tag)};
    }
    run_.backward_comm_us[step] += since_us(t0);
    run_.backward_comm_bytes[step] += static_cast<double>(got.size() * sizeof(float));
    return Ok{};
  }

  // The own shard's dK/dV (a buffer laid out like kv_mine_) into the run's per-row gradients.
  void keep_own_gradients(const std::vector<float>& g) {
    for_each_row(g, q_pos_, [&](std::size_t row, const std::vector<float>& dk, const std::vector<float>& dv) {
      run_.grads[row].dk = dk;
      run_.grads[row].dv = dv;
    });
  }

  // As PyTorch's ring: K/V visit every rank again (all-gather: the gathered K/V stay resident), and the
  // dK/dV accumulator of the block held at step i travels one hop behind it: rank r receives from r - 1 the
  // accumulator of the block it now holds, adds its own part and passes it on; after W hops in all each
  // accumulator is home.
  Status backward() {
    std::vector<float> held = kv_mine_, acc;
    for (std::int64_t i = 0; i < w_; ++i) {
      const std::int64_t source = ring_source(r_, i, w_);
      const auto step = static_cast<std::size_t>(i);
      if (i > 0) {
        std::vector<float> got;
        if (!gathered()) {
          CPSIM_RETURN_IF_ERROR(hop(held, got, backward_kv_tag(w_, i), step));
          held = std::move(got);
        }
        CPSIM_RETURN_IF_ERROR(hop(acc, got, gradient_tag(w_, i), step));  // the accumulator of `source`'s block
        acc = std::move(got);
      }
      const auto t0 = Clock::now();
      const std::vector<float> mine = gradients_for(gathered() ? gathered_[static_cast<std::size_t>(source)] : held, shard_of(source));
      if (i == 0) {
        acc = mine;
      } else {
        for (std::size_t x = 0; x < acc.size(); ++x) acc[x] += mine[x];
      }
      run_.backward_compute_us[step] = since_us(t0);
      if (o_.progress != nullptr) ++o_.progress->steps_done;
    }
    if (w_ > 1) {  // the accumulator in hand is rank r + 1's, complete: one more hop takes each one home
      std::vector<float> got;
      CPSIM_RETURN_IF_ERROR(hop(acc, got, gradient_tag(w_, w_), static_cast<std::size_t>(w_ - 1)));
      acc = std::move(got);
    }
    keep_own_gradients(acc);
    return Ok{};
  }

  // The sparse gather's backward: dK/dV of the received tokens go back to their sources along the same pairs
  // (all-to-all-v reversed, fp32) and are added there to the own K/V's gradients.
  Status backward_sparse() {
    const auto ws = static_cast<std::size_t>(w_);
    std::vector<std::vector<float>> send(ws), received(ws);
    std::vector<float> own;
    for (std::int64_t i = 0; i < w_; ++i) {
      const auto source = static_cast<std::size_t>(ring_source(r_, i, w_));
      const auto t0 = Clock::now();
      if (i == 0) {
        own = gradients_for(kv_mine_, q_pos_);
      } else {
        send[source] = gradients_for(sparse_kv_[source], received_pos_[source]);
        received[source].resize(kv_values(sent_pos_[source], kv_width_));
      }
      run_.backward_compute_us[static_cast<std::size_t>(i)] = since_us(t0);
      if (o_.progress != nullptr) ++o_.progress->steps_done;
    }
    const auto t0 = Clock::now();
    CPSIM_RETURN_IF_ERROR(comm_.all_to_all_v(send, received, sparse_return_tag(w_)));
    run_.backward_comm_us[0] = since_us(t0);
    for (std::size_t peer = 0; peer < ws; ++peer) run_.backward_comm_bytes[0] += static_cast<double>(received[peer].size() * sizeof(float));
    keep_own_gradients(own);
    // Each peer's part for the tokens it was sent, added at those tokens' slots in this rank's shard.
    const std::int64_t n = plan_.layouts.front().shard_len();
    for (std::size_t peer = 0; peer < ws; ++peer) {
      if (static_cast<std::int64_t>(peer) == r_) continue;
      for_each_row(received[peer], sent_pos_[peer], [&](std::size_t row, const std::vector<float>& dk, const std::vector<float>& dv) {
        const auto& restore = plan_.layouts[row].restore();
        for (std::size_t j = 0; j < sent_pos_[peer][row].size(); ++j) {
          const auto local = static_cast<std::size_t>(restore[static_cast<std::size_t>(sent_pos_[peer][row][j])] - r_ * n);
          for (std::size_t x = 0; x < kv_width_; ++x) {
            run_.grads[row].dk[local * kv_width_ + x] += dk[j * kv_width_ + x];
            run_.grads[row].dv[local * kv_width_ + x] += dv[j * kv_width_ + x];
          }
        }
      });
    }
    return Ok{};
  }

  const Plan& plan_;
  const RankOptions& o_;
  Communicator& comm_;
  const std::int64_t r_, w_;
  const std::size_t rows_, kv_width_;
  RankRun run_;
  std::vector<RowMask> masks_;
  std::vector<std::vector<std::int64_t>> q_pos_;  // per row: this rank's positions, in slot order
  std::vector<std::vector<float>> q_val_;
  std::vector<float> kv_mine_;                    // this rank's K/V shard
  std::vector<std::vector<float>> gathered_;      // all-gather: every rank's shard
  // Sparse gather, per peer: the positions sent to it and received from it (per row), and the K/V received.
  std::vector<std::vector<std::vector<std::int64_t>>> sent_pos_, received_pos_;
  std::vector<std::vector<float>> sparse_kv_;
  std::vector<std::vector<float>> dout_, delta_;  // backward, per row
};

}  // namespace

Result<RankRun> run_rank(const Plan& plan, const RankOptions& o, Communicator& comm) { return RankProgram(plan, o, comm).run(); }

}  // namespace cpsim
