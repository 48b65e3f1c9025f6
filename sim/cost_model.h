// The cost model's compute side: the time of one attention kernel call from its tiles, in the one form every
// kernel shares (CTAs spread over the SMs, or the longest CTA; a cost per CTA, per full and per partial tile; the
// launch; backward's extra kernels), the LSE merge, and FLOP counts. Derivation: docs/cost-model.md.
#pragma once

#include <array>
#include <cstdint>

#include "core/workload.h"
#include "sim/cost_parts.h"
#include "sim/hardware.h"
#include "sim/kernel.h"

namespace cpsim {

// The tiles of one kernel call at the plan's block size, summed over batch rows and counted for one head.
struct KernelWork {
  std::int64_t full_tiles = 0;
  std::int64_t partial_tiles = 0;
  std::int64_t active_rows = 0;    // Q block rows with any work (forward's CTAs per head, in blocks)
  std::int64_t max_row_tiles = 0;  // the longest row, in blocks
  // K block columns with any work and the longest column (backward's CTAs); 0: as the rows (block masks whose
  // columns the plan does not count, where rows stand for them).
  std::int64_t active_cols = 0;
  std::int64_t max_col_tiles = 0;
  bool empty() const { return full_tiles + partial_tiles == 0; }
};

// One call's work as the time form reads it, at the kernel's own tile: over all heads spread on the SMs
// (`spread`) and for the longest CTA (`longest`), each (CTAs, full tiles, partial tiles) times a full tile's time
// at 100% of one SM's peak; plus backward's extra kernels. Time = launch + max(spread . x, longest . x) + extra_us
// with x = (cta_overhead_tiles, 1, partial_tile_cost) / efficiency: linear in the constants per branch, which is
// what calibration fits.
struct KernelShape {
  std::array<double, 3> spread{};
  std::array<double, 3> longest{};
  double extra_us = 0;
  bool empty = true;
};

KernelShape kernel_shape(const KernelWork& work, std::int64_t block, std::int64_t heads, std::int64_t head_dim, bool backward,
                         const KernelSpec& kernel, const HardwareProfile& profile);
double kernel_time_us(const KernelShape& shape, double launch_us, double efficiency, double cta_overhead_tiles, double partial_tile_cost);
// The same time by part (its total() is kernel_time_us).
CostParts kernel_parts(const KernelShape& shape, double launch_us, double efficiency, double cta_overhead_tiles, double partial_tile_cost);

class CostModel {
 public:
  CostModel(const HardwareProfile& profile, const ModelShape& model, std::int64_t block, const KernelSpec& kernel);

  // One kernel call of the strategy's kernel; 0 when there is no work.
  double kernel_us(const KernelWork& work, bool backward) const;
  CostParts kernel_parts(const KernelWork& work, bool backward) const;
  // The kernel's efficiency at the model's head dim, and the best rate per pair of any kernel of the profile (what
  // ideal_us charges): their ratio is what running on this kernel costs over the lower bound.
  double efficiency(bool backward) const;
  double best_pair_rate(bool backward) const { return best_pair_rate_[backward ? 1 : 0]; }
  // Merging `rows` query rows of a step's out/LSE into the running result in fp32, as PyTorch's ring does it
  // (_SDPAMerger in torch/distributed/tensor/experimental/_context_parallel/_attention.py, unfused torch ops):
  // out - sigmoid(block_lse - lse) * (out - block_out) reads and writes kMergeBytesPerElement bytes per output
  // element (out - block_out: 4 + 2 read, 4 written; the product: 4 + 4; the difference: 4 + 4 read, 4 written).
  static constexpr double kMergeBytesPerElement = 30;
  double merge_us(std::int64_t rows) const;
  // Backward's fp32 gradient accumulation of a ring step (grad += step's grad for dQ of `q_rows` queries and dK/dV of
  // `kv_rows` keys): read the accumulator and the step's gradient, write the accumulator.
  static constexpr double kAccumulateBytesPerElement = 10;
  double accumulate_us(std::int64_t q_rows, std::int64_t kv_rows) const;

  // FLOPs of `pairs` useful (q, k) pairs over all heads: 4 * D * H_q per pair forward, times the
  // backward factor for backward.
  double useful_flops(std::int64_t pairs, bool backward) const;
  // Best achievable time for `flops` spread perfectly over `ranks` GPUs at the best rate per pair any of the
  // profile's kernels reaches at this head dim (the same yardstick for every strategy).
  double ideal_us(double flops, std::int64_t ranks, bool backward) const;

  const KernelSpec& kernel() const { return kernel_; }
  const ModelShape& model() const { return model_; }

 private:
  KernelSpec kernel_;  // copies: a model must not outlive the profile it was made from
  HardwareProfile gpu_;  // the profile without its kernels (sizes, peak, HBM)
  ModelShape model_;
  std::int64_t block_;
  std::array<double, 2> best_pair_rate_{};  // forward, backward: max over kernels of efficiency / min(1, partial cost)
};

}  // namespace cpsim
