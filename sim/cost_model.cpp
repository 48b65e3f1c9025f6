// Kernel, merge and FLOP costs from a hardware profile.
#include "sim/cost_model.h"

#include <algorithm>
#include <cmath>

namespace cpsim {

CostModel::CostModel(const HardwareProfile& profile, const ModelShape& model, std::int64_t tile)
    : profile_(profile), model_(model), tile_(tile) {}

double CostModel::tile_us(bool backward, KernelKind kind, bool partial) const {
  const double t = static_cast<double>(tile_);
  const double flops = 4.0 * t * t * static_cast<double>(model_.head_dim) * (backward ? profile_.backward_flops_factor : 1.0);
  double efficiency = backward ? profile_.bwd_efficiency(model_.head_dim) : profile_.fwd_efficiency(model_.head_dim);
  if (kind == KernelKind::kBlockSparse) efficiency *= profile_.block_sparse_efficiency_factor;
  const double sm_flops_per_us = profile_.peak_bf16_tflops * 1e6 / static_cast<double>(profile_.sm_count);
  const double full = flops / (sm_flops_per_us * efficiency);
  return partial ? full * (1.0 + profile_.partial_tile_overhead_fraction) : full;
}

double CostModel::critical_share(const KernelWork& work, std::int64_t heads, std::int64_t sm_count, std::int64_t ctas_per_sm) {
  if (work.empty() || work.active_rows == 0) return 0;
  const double h = static_cast<double>(heads);
  const double ctas = static_cast<double>(work.active_rows) * h;
  const double per_slot = static_cast<double>(ctas_per_sm);  // CTAs sharing an SM each run 1/c as fast
  const double waves = std::ceil(ctas / static_cast<double>(sm_count * ctas_per_sm));
  // waves x the mean CTA, or the longest CTA (max_row_tiles at the mean tile time), whichever is longer.
  const double by_waves = waves / ctas;
  const double by_longest = static_cast<double>(work.max_row_tiles) / (static_cast<double>(work.full_tiles + work.partial_tiles) * h);
  return per_slot * std::max(by_waves, by_longest);
}

double CostModel::kernel_us(const KernelWork& work, bool backward, KernelKind kind) const {
  if (work.empty() || work.active_rows == 0) return 0;
  const double total = (static_cast<double>(work.full_tiles) * tile_us(backward, kind, false) +
                        static_cast<double>(work.partial_tiles) * tile_us(backward, kind, true)) * static_cast<double>(model_.q_heads);
  return profile_.kernel_launch_us + critical_share(work, model_.q_heads, profile_.sm_count, profile_.ctas_per_sm) * total;
}

double CostModel::merge_us(std::int64_t rows) const {
  if (rows <= 0) return 0;
  const double bytes = 3.0 * static_cast<double>(rows) * static_cast<double>(model_.q_heads) *
                       static_cast<double>(model_.head_dim + 1) * 4.0;
  return profile_.kernel_launch_us + bytes / (profile_.hbm_bandwidth_tb_s * 1e6);  // TB/s = 1e6 bytes/us
}

double CostModel::useful_flops(std::int64_t pairs, bool backward) const {
  return 4.0 * static_cast<double>(model_.head_dim) * static_cast<double>(model_.q_heads) * static_cast<double>(pairs) *
         (backward ? profile_.backward_flops_factor : 1.0);
}

double CostModel::ideal_us(double flops, std::int64_t ranks, bool backward) const {
  const double efficiency = backward ? profile_.bwd_efficiency(model_.head_dim) : profile_.fwd_efficiency(model_.head_dim);
  // A partial tile holds at most a tile's pairs, so where it costs less than a full tile (a kernel that skips
  // masked pairs, as the CPU executor does) a pair can cost as little as (1 + overhead) of its full-tile share.
  const double cheapest_pair = std::min(1.0, 1.0 + profile_.partial_tile_overhead_fraction);
  return flops * cheapest_pair / (static_cast<double>(ranks) * efficiency * profile_.peak_bf16_tflops * 1e6);
}

}  // namespace cpsim
