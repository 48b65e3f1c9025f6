// The cost model's compute side: the time of one attention kernel call from its tiles (CTAs spread over
// SMs in waves; full and partial tile costs; launch overhead), the LSE merge, and FLOP counts.
// Derivation and a worked example: docs/cost-model.md.
#pragma once

#include <cstdint>

#include "core/workload.h"
#include "sim/hardware.h"

namespace cpsim {

// The tiles of one kernel call, summed over batch rows and counted for one head.
struct KernelWork {
  std::int64_t full_tiles = 0;
  std::int64_t partial_tiles = 0;
  std::int64_t active_rows = 0;    // Q tile rows with any work (CTAs per head)
  std::int64_t max_row_tiles = 0;  // the longest CTA, in tiles
  bool empty() const { return full_tiles + partial_tiles == 0; }
};

enum class KernelKind {
  kFlash,        // dense/causal FlashAttention-style kernel (SDPA ring)
  kBlockSparse,  // block-sparse kernel over a block mask (FlexAttention, the sparse ring)
};

class CostModel {
 public:
  CostModel(const HardwareProfile& profile, const ModelShape& model, std::int64_t tile);

  // Time of one tile for one head on one SM, in microseconds.
  double tile_us(bool backward, KernelKind kind, bool partial) const;
  // One kernel call: launch + max(waves * mean CTA time, longest CTA). 0 when there is no work.
  double kernel_us(const KernelWork& work, bool backward, KernelKind kind) const;
  // The share of a kernel's summed tile time (all tiles, all heads, as if on one SM) that lies on its critical
  // path: kernel_us = launch + share * summed tile time. It depends on the work's shape, not on tile costs,
  // so calibration fits tile costs with the very form the simulator uses.
  static double critical_share(const KernelWork& work, std::int64_t heads, std::int64_t sm_count, std::int64_t ctas_per_sm);
  // Merging `rows` query rows of out/LSE into the running result in fp32 (read both, write one).
  double merge_us(std::int64_t rows) const;

  // FLOPs of `pairs` useful (q, k) pairs over all heads: 4 * D * H_q per pair forward, times the
  // backward factor for backward.
  double useful_flops(std::int64_t pairs, bool backward) const;
  // Best achievable time for `flops` spread perfectly over `ranks` GPUs at the kernel's efficiency (and, where
  // partial tiles cost less than full ones, at the cheapest rate per pair that allows).
  double ideal_us(double flops, std::int64_t ranks, bool backward) const;

  const HardwareProfile& profile() const { return profile_; }
  const ModelShape& model() const { return model_; }

 private:
  HardwareProfile profile_;  // a copy: a model must not outlive the profile it was made from
  ModelShape model_;
  std::int64_t tile_;
};

}  // namespace cpsim
