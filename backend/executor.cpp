// Thread executor, verification and measurement assembly.
#include "backend/executor.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <thread>

#include "backend/thread_communicator.h"
#include "core/workload_json.h"

#ifndef CPSIM_COMMIT
#define CPSIM_COMMIT "unknown"
#endif

namespace cpsim {

Result<RankOptions> rank_options(const Plan& plan, const ExecuteOptions& o) {
  RankOptions r;
  const ModelShape& m = plan.workload.model;
  r.shape.rows = plan.workload.rows();
  r.shape.seq_len = plan.workload.seq_len;
  r.shape.q_heads = o.q_heads.value_or(m.q_heads);
  r.shape.kv_heads = o.kv_heads.value_or(o.q_heads ? std::min(*o.q_heads, m.kv_heads) : m.kv_heads);
  r.shape.head_dim = o.head_dim.value_or(m.head_dim);
  if (r.shape.q_heads <= 0) return bad_input("--q-heads: must be positive, got " + std::to_string(r.shape.q_heads));
  if (r.shape.kv_heads <= 0 || r.shape.q_heads % r.shape.kv_heads != 0) {
    return bad_input("--kv-heads: " + std::to_string(r.shape.kv_heads) + " must be positive and divide q heads " + std::to_string(r.shape.q_heads));
  }
  if (r.shape.head_dim <= 0) return bad_input("--head-dim: must be positive, got " + std::to_string(r.shape.head_dim));
  if (plan.ulysses > 1) {
    return bad_input(plan.workload_source + ": ulysses: " + std::to_string(plan.ulysses) +
                     " (a Ulysses x ring hybrid) is simulated only; the executors run plans without Ulysses");
  }
  const std::string rotate = o.rotate.empty() ? plan.rotate : o.rotate;
  if (rotate.empty()) return bad_input("--rotate: the plan records no rotate method; pass --rotate allgather or alltoall");
  if (rotate != "allgather" && rotate != "alltoall") {
    return bad_input("--rotate: unknown rotate method \"" + rotate + "\" (expected allgather or alltoall)");
  }
  r.all_gather = rotate == "allgather";
  // A sparse_gather plan exchanges just the K/V each rank can see, unless the rotate method was overridden.
  r.sparse_gather = plan.attention_path == "sparse_gather" && r.all_gather;
  r.backward = o.backward;
  r.seed = o.seed;
  r.stall_rank = o.stall_rank;
  r.stall_ms = o.stall_ms;
  return r;
}

Checks verify_against_reference(const Plan& plan, const RankOptions& o, const std::vector<RankRun>& runs) {
  const AttentionShape& shape = o.shape;
  const std::int64_t n = plan.workload.seq_len / plan.world_size;
  const auto hq = static_cast<std::size_t>(shape.q_heads);
  const auto q_width = hq * static_cast<std::size_t>(shape.head_dim);
  const auto kv_width = static_cast<std::size_t>(shape.kv_heads * shape.head_dim);
  ErrorTally output, gradients;
  for (std::int64_t row = 0; row < shape.rows; ++row) {
    const auto r = static_cast<std::size_t>(row);
    const RowMask mask(plan.workload.mask, plan.workload.seq_len, plan.workload.documents[r]);
    const ReferenceAttention ref = reference_attention(shape, mask, row, o.seed);
    const std::optional<ReferenceGradients> grads =
        o.backward ? std::optional(reference_gradients(shape, mask, row, o.seed, ref)) : std::nullopt;
    const RowLayout& layout = plan.layouts[r];
    for (std::int64_t p = 0; p < plan.workload.seq_len; ++p) {
      const std::int64_t slot = layout.restore()[static_cast<std::size_t>(p)];  // restore: original order again
      const RankRun& rank = runs[static_cast<std::size_t>(slot / n)];
      const auto local = static_cast<std::size_t>(slot % n), at = static_cast<std::size_t>(p);
      output.add_all(ref.out, at * q_width, rank.rows[r].out, local * q_width, q_width);
      for (std::size_t h = 0; h < hq; ++h) output.add_error_only(ref.lse[at * hq + h], rank.rows[r].lse[local * hq + h]);
      if (!grads) continue;
      gradients.add_all(grads->dq, at * q_width, rank.grads[r].dq, local * q_width, q_width);
      gradients.add_all(grads->dk, at * kv_width, rank.grads[r].dk, local * kv_width, kv_width);
      gradients.add_all(grads->dv, at * kv_width, rank.grads[r].dv, local * kv_width, kv_width);
    }
  }
  Checks checks;
  // fp32 compute against an fp64 reference (issue: max absolute error <= 1e-5).
  checks.output = output.verdict(1e-5);
  // Gradients sum over up to S keys (dQ) or queries (dK, dV), so their fp32 rounding grows with their size:
  // the forward's 1e-5, relative to the largest reference gradient when that exceeds 1.
  if (o.backward) checks.gradients = gradients.verdict(1e-5 * std::max(1.0, gradients.largest));
  return checks;
}

Measurement make_measurement(const Plan& plan, const std::string& plan_path, const RankOptions& o,
                             const std::vector<RankRun>& runs, const Verification& check, const std::string& executor,
                             const std::string& device, const std::optional<Verification>& gradients) {
  Measurement m;
  m.plan_source = plan_path;
  m.workload_digest = workload_digest(plan.workload);
  m.executor = executor;
  m.device = device;
  m.commit = CPSIM_COMMIT;
  m.world_size = plan.world_size;
  // What ran: the sparse exchange, one all-gather or ring hops.
  m.attention_path = o.sparse_gather ? "sparse_gather"
                     : plan.attention_path.empty() || plan.attention_path == "sparse_gather"
                         ? (o.all_gather ? "flex_allgather" : "sparse_ring")
                         : plan.attention_path;
  m.rotate = o.all_gather ? "allgather" : "alltoall";
  m.tile_size = plan.block_size;
  m.q_heads = o.shape.q_heads;
  m.kv_heads = o.shape.kv_heads;
  m.head_dim = o.shape.head_dim;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto rank = static_cast<std::int64_t>(r);
    for (std::int64_t i = 0; i < plan.world_size; ++i) {
      MeasuredStep s;
      s.rank = rank;
      s.step = i;
      s.compute_us = runs[r].compute_us[static_cast<std::size_t>(i)];
      s.comm_us = runs[r].comm_us[static_cast<std::size_t>(i)];
      s.comm_bytes = runs[r].comm_bytes[static_cast<std::size_t>(i)];
      s.full_tiles = plan.work.step_tiles(rank, i).full;
      s.partial_tiles = plan.work.step_tiles(rank, i).partial;
      s.active_rows = plan.work.step_rows(rank, i).active_rows;
      s.max_row_tiles = plan.work.step_rows(rank, i).max_row_tiles;
      m.steps.push_back(s);
    }
    m.total_us = std::max(m.total_us, runs[r].total_us);
  }
  m.max_abs_error = check.max_abs_error;
  m.max_rel_error = check.max_rel_error;
  m.tolerance = check.tolerance;
  m.verified = check.passed;
  if (gradients) {
    MeasuredBackward& b = m.backward;
    b.ran = true;
    b.max_abs_error = gradients->max_abs_error;
    b.max_rel_error = gradients->max_rel_error;
    b.tolerance = gradients->tolerance;
    b.verified = gradients->passed;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      for (std::int64_t i = 0; i < plan.world_size; ++i) {
        MeasuredStep s = m.steps[r * static_cast<std::size_t>(plan.world_size) + static_cast<std::size_t>(i)];  // same work
        s.compute_us = runs[r].backward_compute_us[static_cast<std::size_t>(i)];
        s.comm_us = runs[r].backward_comm_us[static_cast<std::size_t>(i)];
        s.comm_bytes = runs[r].backward_comm_bytes[static_cast<std::size_t>(i)];
        b.steps.push_back(s);
      }
      b.total_us = std::max(b.total_us, runs[r].backward_total_us);
    }
  }
  m.predicted = plan.predicted;
  return m;
}

Result<Measurement> execute_with_threads(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options) {
  CPSIM_ASSIGN_OR_RETURN(RankOptions ro, rank_options(plan, options));
  const std::int64_t w = plan.world_size;
  std::atomic<std::int64_t> steps_done{0};
  ro.steps_done = &steps_done;
  ThreadFabric fabric(w, options.timeout_s);
  std::vector<std::optional<Result<RankRun>>> results(static_cast<std::size_t>(w));
  std::vector<std::thread> threads;
  std::atomic<std::int64_t> finished_ranks{0};
  for (std::int64_t r = 0; r < w; ++r) {
    threads.emplace_back([&, r] {
      ThreadCommunicator comm(fabric, r);
      auto result = run_rank(plan, ro, comm);
      if (!result) comm.abort(result.error().message);
      results[static_cast<std::size_t>(r)].emplace(std::move(result));
      ++finished_ranks;
    });
  }
  const std::int64_t total_steps = progress_steps(plan, ro);
  if (options.progress) {
    while (finished_ranks.load() < w && fabric.first_failure().empty()) {
      options.progress(steps_done.load(), total_steps);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  for (auto& t : threads) t.join();
  if (options.progress) options.progress(total_steps, total_steps);
  std::vector<RankRun> runs;
  for (auto& result : results) {
    if (!result->ok()) {
      // The root cause is the first failure recorded on the fabric: a failed rank names itself, a timeout
      // names the ranks furthest behind.
      const std::string first = fabric.first_failure();
      return Error{ErrorCode::kExecutionFailed, first.empty() ? result->error().message : first};
    }
    runs.push_back(std::move(result->value()));
  }
  if (options.perturb_output && !runs.empty() && !runs[0].rows.empty() && !runs[0].rows[0].out.empty()) {
    runs[0].rows[0].out[0] += 1e-3f;
  }
  if (options.perturb_gradient && ro.backward && !runs.empty() && !runs[0].grads.empty() && !runs[0].grads[0].dk.empty()) {
    runs[0].grads[0].dk[0] += 1e-2f;
  }
  const Checks checks = verify_against_reference(plan, ro, runs);
  return make_measurement(plan, plan_path, ro, runs, checks.output, "cpu",
                          "cpu (" + std::to_string(w) + " threads on " + std::to_string(std::thread::hardware_concurrency()) + " cores)",
                          checks.gradients);
}

}  // namespace cpsim
