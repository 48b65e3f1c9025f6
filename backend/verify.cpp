// Verification against the fp64 reference, and the measurement every executor returns.
#include "backend/verify.h"

#include <cassert>

#include "core/workload_json.h"

#ifndef CPSIM_COMMIT
#define CPSIM_COMMIT "unknown"
#endif

namespace cpsim {

ReferenceCheck cpu_reference_check() { return {InputPrecision::kFp32, 1e-5, 0}; }

ReferenceCheck gpu_reference_check(std::int64_t world_size) {
  return {InputPrecision::kBf16, 8e-3 * static_cast<double>(world_size), 2e10};
}

double reference_seconds(const Plan& plan, const RankOptions& o, std::int64_t cores) {
  // The reference splits a row's queries over the cores in even ranges of positions (split_over_cores in
  // backend/attention_math.cpp), not of work: under a causal mask the last range holds most of the pairs (3/4 of
  // them on 2 cores), and the row takes as long as that range does.
  const std::int64_t s = plan.workload.seq_len, workers = std::max<std::int64_t>(1, cores);
  double busiest_pairs = 0;
  for (std::size_t row = 0; row < plan.workload.documents.size(); ++row) {
    const RowMask mask(plan.workload.mask, s, plan.workload.documents[row]);
    double busiest = 0;
    for (std::int64_t t = 0; t < workers; ++t) {
      double pairs = 0;
      for (std::int64_t p = s * t / workers; p < s * (t + 1) / workers; ++p) pairs += static_cast<double>(mask.interval(p).hi - mask.interval(p).lo + 1);
      busiest = std::max(busiest, pairs);
    }
    busiest_pairs += busiest;
  }
  const double units = busiest_pairs * static_cast<double>(o.shape.q_heads) * static_cast<double>(o.shape.head_dim);
  const double forward_ns = kReferenceNsAtZeroDim + kReferenceNsPerDim * static_cast<double>(o.shape.head_dim);
  return units * forward_ns * (1.0 + (o.backward ? kReferenceGradientFactor : 0.0)) * 1e-9;
}

std::vector<std::int64_t> checked_positions(const Plan& plan, std::size_t row, const AttentionShape& shape, double max_macs) {
  const std::int64_t s = plan.workload.seq_len, w = plan.world_size, n = s / w;
  const RowMask mask(plan.workload.mask, s, plan.workload.documents[row]);
  // QK^T and PV: two multiply-adds per visible key, head and dim.
  const double per_key = 2.0 * static_cast<double>(shape.q_heads * shape.head_dim);
  double total = 0;
  for (std::int64_t p = 0; p < s; ++p) total += static_cast<double>(mask.interval(p).hi - mask.interval(p).lo + 1) * per_key;
  std::vector<std::int64_t> out;
  if (max_macs <= 0 || total <= max_macs) {
    for (std::int64_t p = 0; p < s; ++p) out.push_back(p);
    return out;
  }
  // Slots spread evenly over each rank's shard, the same count on every rank, its first and last among them.
  const double mean = total / static_cast<double>(s);
  const std::int64_t per_rank = std::clamp<std::int64_t>(static_cast<std::int64_t>(max_macs / mean) / w, 2, n);
  const RowLayout& layout = plan.layouts[row];
  for (std::int64_t r = 0; r < w; ++r) {
    for (std::int64_t j = 0; j < per_rank; ++j) {
      const std::int64_t slot = r * n + (per_rank > 1 ? j * (n - 1) / (per_rank - 1) : 0);
      out.push_back(layout.rearrange()[static_cast<std::size_t>(slot)]);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Checks verify_against_reference(const Plan& plan, const RankOptions& o, const std::vector<RankRun>& runs, const ReferenceCheck& check) {
  const AttentionShape& shape = o.shape;
  const std::int64_t n = plan.workload.seq_len / plan.world_size;
  const auto hq = static_cast<std::size_t>(shape.q_heads);
  const auto q_width = hq * static_cast<std::size_t>(shape.head_dim);
  const auto kv_width = static_cast<std::size_t>(shape.kv_heads * shape.head_dim);
  ErrorTally output, gradients;
  if (o.progress != nullptr) o.progress->rows_to_check = shape.rows;
  for (std::int64_t row = 0; row < shape.rows; ++row) {
    const auto r = static_cast<std::size_t>(row);
    const RowMask mask(plan.workload.mask, plan.workload.seq_len, plan.workload.documents[r]);
    // Gradients are checked everywhere (only the CPU executors run backward, at shapes they can afford).
    const std::vector<std::int64_t> positions = checked_positions(plan, r, shape, o.backward ? 0.0 : check.max_reference_macs);
    const ReferenceAttention ref = reference_attention_at(shape, mask, row, o.seed, positions, check.inputs);
    const std::optional<ReferenceGradients> grads =
        o.backward ? std::optional(reference_gradients(shape, mask, row, o.seed, ref)) : std::nullopt;
    const RowLayout& layout = plan.layouts[r];
    for (std::size_t i = 0; i < positions.size(); ++i) {
      const std::int64_t p = positions[i];
      const std::int64_t slot = layout.restore()[static_cast<std::size_t>(p)];  // restore: original order again
      const RankRun& rank = runs[static_cast<std::size_t>(slot / n)];
      const auto local = static_cast<std::size_t>(slot % n), at = static_cast<std::size_t>(p);
      output.add_all(ref.out, i * q_width, rank.rows[r].out, local * q_width, q_width);
      for (std::size_t h = 0; h < hq; ++h) output.add_error_only(ref.lse[i * hq + h], rank.rows[r].lse[local * hq + h]);
      if (!grads) continue;
      gradients.add_all(grads->dq, at * q_width, rank.grads[r].dq, local * q_width, q_width);
      gradients.add_all(grads->dk, at * kv_width, rank.grads[r].dk, local * kv_width, kv_width);
      gradients.add_all(grads->dv, at * kv_width, rank.grads[r].dv, local * kv_width, kv_width);
    }
    if (o.progress != nullptr) ++o.progress->rows_checked;
  }
  Checks checks;
  checks.output = output.verdict(check.output_tolerance);
  // Gradients sum over up to S keys (dQ) or queries (dK, dV), so their fp32 rounding grows with their size:
  // the forward's 1e-5, relative to the largest reference gradient when that exceeds 1.
  if (o.backward) checks.gradients = gradients.verdict(1e-5 * std::max(1.0, gradients.largest));
  return checks;
}

namespace {

Measurement make_measurement(const Plan& plan, const std::string& plan_path, const RankOptions& o, const std::vector<RankRun>& runs,
                             const Checks& checks, const RunIdentity& who) {
  Measurement m;
  m.plan_source = plan_path;
  m.workload_digest = workload_digest(plan.workload);
  m.executor = who.executor;
  m.device_kind = who.device_kind;
  m.device = who.device;
  m.driver = who.driver;
  m.commit = CPSIM_COMMIT;
  m.world_size = plan.world_size;
  m.strategy = o.strategy;
  // cpsim's executors run cpsim's own kernels whatever the plan's strategy names: the CPU routine ("cpu", the
  // cpu-threads profile's kernel) or the CUDA kernel ("cpsim").
  m.strategy.kernel = who.device_kind == DeviceKind::kCpu ? "cpu" : "cpsim";
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
  const Verification& check = checks.output;
  m.max_abs_error = check.max_abs_error;
  m.max_rel_error = check.max_rel_error;
  m.tolerance = check.tolerance;
  m.verified = check.passed;
  if (const auto& gradients = checks.gradients) {
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

}  // namespace

Measurement finish_run(const Plan& plan, const std::string& plan_path, const RankOptions& options, std::vector<RankRun> runs,
                       const Faults& faults, const ReferenceCheck& check, const RunIdentity& who) {
  assert(static_cast<std::int64_t>(runs.size()) == plan.world_size);
  corrupt_results(faults, runs, check.output_tolerance);
  return make_measurement(plan, plan_path, options, runs, verify_against_reference(plan, options, runs, check), who);
}

}  // namespace cpsim
