// What one rank does in `cpsim execute`: build its Q shard and K/V shard from the plan's indices, get the
// K/V of every source rank by the plan's rotate method, attend with the mask on original positions, and
// merge the partial results by log-sum-exp in fp32; with backward, compute dQ and every source's dK/dV and
// send each dK/dV accumulator around the ring home. Written once for threads and MPI processes.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "backend/attention_math.h"
#include "backend/communicator.h"
#include "core/plan.h"

namespace cpsim {

// One batch row's gradients on a rank, in its slot order: dq [n][hq][d]; dk, dv [n][hkv][d] of its own K/V
// shard, summed over every rank's queries.
struct RowGradients {
  std::vector<float> dq, dk, dv;
};

struct RankRun {
  std::vector<PartialAttention> rows;  // per batch row: out [n][hq][d] and lse [n][hq] in this rank's slot order
  std::vector<double> compute_us;      // per ring step
  std::vector<double> comm_us;         // per ring step: the wait for that step's K/V
  std::vector<double> comm_bytes;      // per ring step: bytes received for it
  double total_us = 0;                 // forward, from the start
  // Backward (when run): per row gradients; per step compute, and the wait for that step's K/V and dK/dV
  // accumulator (the last step's includes the hop that brings the rank its own dK/dV home).
  std::vector<RowGradients> grads;
  std::vector<double> backward_compute_us, backward_comm_us, backward_comm_bytes;
  double backward_total_us = 0;
};

// How K/V reach a rank: ring hops, one all-gather, or the sparse exchange of just the tokens its queries see.
enum class KvExchange { kRing, kAllGather, kSparse };

// How far a run is, for a progress line that another thread draws (cpsim execute on a terminal): the executor sets
// the totals, its ranks and the reference check count up. Only counters: drawing them is the caller's business.
struct RunProgress {
  std::atomic<std::int64_t> steps_done{0};
  std::atomic<std::int64_t> steps_total{0};  // (rank, step) pairs, per pass, that this process counts
  std::atomic<bool> own_rank_only{false};    // MPI: this process counts its own rank's steps only
  std::atomic<std::int64_t> rows_checked{0};
  std::atomic<std::int64_t> rows_to_check{0};  // set when the check against the reference starts
};

struct RankOptions {
  AttentionShape shape;
  Strategy strategy;        // what runs (the plan's, with any override, on a path the executor has)
  bool backward = false;    // also compute dQ, dK, dV
  std::uint64_t seed = 1;
  RunProgress* progress = nullptr;  // counts finished (rank, step) pairs and checked rows; none when null
  KvExchange exchange() const {
    if (strategy.path == AttentionPath::kSparseGather) return KvExchange::kSparse;
    return strategy.rotate == RotateMethod::kAllGather ? KvExchange::kAllGather : KvExchange::kRing;
  }
};

Result<RankRun> run_rank(const Plan& plan, const RankOptions& options, Communicator& comm);

}  // namespace cpsim
