// The per-rank ring (or all-gather) loop with timings, forward and backward.
#include "backend/rank_program.h"

#include <chrono>
#include <thread>

namespace cpsim {
namespace {

using Clock = std::chrono::steady_clock;
double since_us(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

std::vector<std::int64_t> shard_positions(const RowLayout& layout, std::int64_t rank) {
  const std::int64_t n = layout.shard_len();
  return {layout.rearrange().begin() + rank * n, layout.rearrange().begin() + (rank + 1) * n};
}

}  // namespace

Result<RankRun> run_rank(const Plan& plan, const RankOptions& o, Communicator& comm) {
  const auto t_start = Clock::now();
  const std::int64_t r = comm.rank(), w = comm.size();
  if (r == o.stall_rank) {
    if (o.stall_ms < 0) return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(r) + " failed (test hook)"};
    std::this_thread::sleep_for(std::chrono::milliseconds(o.stall_ms));
  }
  const AttentionShape& shape = o.shape;
  const auto rows = static_cast<std::size_t>(shape.rows);
  std::vector<RowMask> masks;
  std::vector<std::vector<std::int64_t>> q_pos(rows);
  std::vector<std::vector<float>> q_val(rows);
  std::vector<float> kv_mine;  // per row: K values then V values of this rank's shard
  for (std::size_t row = 0; row < rows; ++row) {
    masks.emplace_back(plan.workload.mask, plan.workload.seq_len, plan.workload.documents[row]);
    q_pos[row] = shard_positions(plan.layouts[row], r);
    q_val[row] = make_input(Tensor::kQ, shape, static_cast<std::int64_t>(row), q_pos[row], o.seed);
    for (const Tensor t : {Tensor::kK, Tensor::kV}) {
      const auto values = make_input(t, shape, static_cast<std::int64_t>(row), q_pos[row], o.seed);
      kv_mine.insert(kv_mine.end(), values.begin(), values.end());
    }
  }
  const std::size_t kv_per_tensor = q_pos.empty() ? 0 : q_pos[0].size() * static_cast<std::size_t>(shape.kv_heads * shape.head_dim);

  RankRun run;
  run.compute_us.assign(static_cast<std::size_t>(w), 0);
  run.comm_us.assign(static_cast<std::size_t>(w), 0);
  run.comm_bytes.assign(static_cast<std::size_t>(w), 0);
  for (std::size_t row = 0; row < rows; ++row) {
    PartialAttention acc;
    acc.out.assign(q_pos[row].size() * static_cast<std::size_t>(shape.q_heads * shape.head_dim), 0.0f);
    acc.lse.assign(q_pos[row].size() * static_cast<std::size_t>(shape.q_heads), -std::numeric_limits<float>::infinity());
    run.rows.push_back(std::move(acc));
  }

  std::vector<std::vector<float>> gathered;
  if (o.all_gather) {
    const auto t0 = Clock::now();
    if (auto ok = comm.all_gather(kv_mine, gathered); !ok) return ok.error();
    run.comm_us[0] = since_us(t0);
    run.comm_bytes[0] = static_cast<double>(kv_mine.size() * sizeof(float)) * static_cast<double>(w - 1);
  }
  std::vector<float> current = kv_mine;
  for (std::int64_t i = 0; i < w; ++i) {
    const std::int64_t source = ((r - i) % w + w) % w;
    if (!o.all_gather && i > 0) {
      const auto t0 = Clock::now();
      std::vector<float> received;
      if (auto ok = comm.ring_shift(current, received, i); !ok) return ok.error();
      if (received.size() != current.size()) {
        return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(r) + " received a K/V buffer of the wrong size at step " + std::to_string(i)};
      }
      current = std::move(received);
      run.comm_us[static_cast<std::size_t>(i)] = since_us(t0);
      run.comm_bytes[static_cast<std::size_t>(i)] = static_cast<double>(current.size() * sizeof(float));
    }
    const std::vector<float>& kv = o.all_gather ? gathered[static_cast<std::size_t>(source)] : current;
    const auto t0 = Clock::now();
    for (std::size_t row = 0; row < rows; ++row) {
      const std::vector<std::int64_t> k_pos = shard_positions(plan.layouts[row], source);
      const auto base = kv.begin() + static_cast<std::ptrdiff_t>(2 * row * kv_per_tensor);
      const std::vector<float> k(base, base + static_cast<std::ptrdiff_t>(kv_per_tensor));
      const std::vector<float> v(base + static_cast<std::ptrdiff_t>(kv_per_tensor), base + static_cast<std::ptrdiff_t>(2 * kv_per_tensor));
      const PartialAttention block = attend_block(shape, masks[row], q_pos[row], q_val[row], k_pos, k, v);
      merge_into(run.rows[row], block, shape.head_dim);
    }
    run.compute_us[static_cast<std::size_t>(i)] = since_us(t0);
    if (o.steps_done != nullptr) ++*o.steps_done;
  }
  run.total_us = since_us(t_start);
  if (!o.backward) return run;

  // Backward, as PyTorch's ring: K/V visit every rank again (all-gather: the gathered K/V stay resident),
  // and the dK/dV accumulator of the block held at step i travels one hop behind it: rank r receives from
  // r - 1 the accumulator of the block it now holds, adds its own part and passes it on; after W hops in all
  // each accumulator is home. Ring tags: forward K/V 1..W-1, backward K/V W+1..2W-1, dK/dV 2W+1..3W.
  const auto t_backward = Clock::now();
  run.backward_compute_us.assign(static_cast<std::size_t>(w), 0);
  run.backward_comm_us.assign(static_cast<std::size_t>(w), 0);
  run.backward_comm_bytes.assign(static_cast<std::size_t>(w), 0);
  std::vector<std::vector<float>> dout(rows), delta(rows);
  const auto hq = static_cast<std::size_t>(shape.q_heads), d = static_cast<std::size_t>(shape.head_dim);
  for (std::size_t row = 0; row < rows; ++row) {
    dout[row] = make_input(Tensor::kDout, shape, static_cast<std::int64_t>(row), q_pos[row], o.seed);
    delta[row].assign(q_pos[row].size() * hq, 0.0f);
    for (std::size_t i = 0; i < delta[row].size(); ++i) {
      for (std::size_t x = 0; x < d; ++x) delta[row][i] += dout[row][i * d + x] * run.rows[row].out[i * d + x];
    }
    run.grads.push_back({std::vector<float>(q_pos[row].size() * hq * d, 0.0f), {}, {}});
  }
  // This rank's dK/dV for `source`'s K/V, laid out like the K/V buffer (per row: dK then dV).
  auto gradients_for = [&](const std::vector<float>& kv, std::int64_t source) {
    std::vector<float> g(kv.size(), 0.0f), dk, dv;
    for (std::size_t row = 0; row < rows; ++row) {
      const std::vector<std::int64_t> k_pos = shard_positions(plan.layouts[row], source);
      const auto base = static_cast<std::ptrdiff_t>(2 * row * kv_per_tensor);
      const std::vector<float> k(kv.begin() + base, kv.begin() + base + static_cast<std::ptrdiff_t>(kv_per_tensor));
      const std::vector<float> v(kv.begin() + base + static_cast<std::ptrdiff_t>(kv_per_tensor), kv.begin() + base + static_cast<std::ptrdiff_t>(2 * kv_per_tensor));
      attend_block_backward(shape, masks[row], q_pos[row], q_val[row], dout[row], run.rows[row].lse, delta[row], k_pos, k, v,
                            run.grads[row].dq, dk, dv);
      std::copy(dk.begin(), dk.end(), g.begin() + base);
      std::copy(dv.begin(), dv.end(), g.begin() + base + static_cast<std::ptrdiff_t>(kv_per_tensor));
    }
    return g;
  };
  auto hop = [&](const std::vector<float>& send, std::vector<float>& got, std::int64_t tag, std::size_t step) -> Status {
    const auto t0 = Clock::now();
    CPSIM_RETURN_IF_ERROR(comm.ring_shift(send, got, tag));
    if (got.size() != send.size()) {
      return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(r) + " received a buffer of the wrong size in backward hop " + std::to_string(tag)};
    }
    run.backward_comm_us[step] += since_us(t0);
    run.backward_comm_bytes[step] += static_cast<double>(got.size() * sizeof(float));
    return Ok{};
  };
  std::vector<float> held = kv_mine, acc;
  for (std::int64_t i = 0; i < w; ++i) {
    const std::int64_t source = ((r - i) % w + w) % w;
    const auto step = static_cast<std::size_t>(i);
    if (i > 0) {
      std::vector<float> got;
      if (!o.all_gather) {
        CPSIM_RETURN_IF_ERROR(hop(held, got, w + i, step));
        held = std::move(got);
      }
      CPSIM_RETURN_IF_ERROR(hop(acc, got, 2 * w + i, step));  // the accumulator of `source`'s block
      acc = std::move(got);
    }
    const auto t0 = Clock::now();
    const std::vector<float> mine = gradients_for(o.all_gather ? gathered[static_cast<std::size_t>(source)] : held, source);
    if (i == 0) {
      acc = mine;
    } else {
      for (std::size_t x = 0; x < acc.size(); ++x) acc[x] += mine[x];
    }
    run.backward_compute_us[step] = since_us(t0);
    if (o.steps_done != nullptr) ++*o.steps_done;
  }
  if (w > 1) {  // the accumulator in hand is rank r + 1's, complete: one more hop takes each one home
    std::vector<float> got;
    CPSIM_RETURN_IF_ERROR(hop(acc, got, 3 * w, static_cast<std::size_t>(w - 1)));
    acc = std::move(got);
  }
  for (std::size_t row = 0; row < rows; ++row) {
    const auto base = acc.begin() + static_cast<std::ptrdiff_t>(2 * row * kv_per_tensor);
    run.grads[row].dk.assign(base, base + static_cast<std::ptrdiff_t>(kv_per_tensor));
    run.grads[row].dv.assign(base + static_cast<std::ptrdiff_t>(kv_per_tensor), base + static_cast<std::ptrdiff_t>(2 * kv_per_tensor));
  }
  run.backward_total_us = since_us(t_backward);
  return run;
}

}  // namespace cpsim
