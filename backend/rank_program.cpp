// The per-rank ring (or all-gather) loop with timings.
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
  return run;
}

}  // namespace cpsim
