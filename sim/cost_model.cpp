// Kernel, merge and FLOP costs from a hardware profile and a kernel's constants.
#include "sim/cost_model.h"

#include <algorithm>
#include <cmath>

namespace cpsim {

KernelShape kernel_shape(const KernelWork& work, std::int64_t block, std::int64_t heads, std::int64_t head_dim, bool backward,
                         const KernelSpec& kernel, const HardwareProfile& profile) {
  KernelShape s;
  if (work.empty() || work.active_rows == 0) return s;
  s.empty = false;
  const KernelConstants k = kernel.at(backward, head_dim);
  const double b = static_cast<double>(block);
  const double tq = static_cast<double>(k.tile_q > 0 ? k.tile_q : block);
  const double tk = static_cast<double>(k.tile_k > 0 ? k.tile_k : block);
  // Forward runs one CTA per tile_q queries over its key tiles; backward one per tile_k keys over its query
  // tiles. A block holds (b / tq) x (b / tk) kernel tiles (fractions where a tile is larger than the block).
  const double rows_per_block = backward ? b / tk : b / tq;
  const double tiles_per_block = (b / tq) * (b / tk);
  const double cta_len_per_block = backward ? b / tq : b / tk;
  const std::int64_t lines = backward && work.active_cols > 0 ? work.active_cols : work.active_rows;
  const std::int64_t longest = backward && work.active_cols > 0 ? work.max_col_tiles : work.max_row_tiles;
  const double h = static_cast<double>(heads);
  const double sms = static_cast<double>(profile.sm_count);
  const double full = static_cast<double>(work.full_tiles) * tiles_per_block;
  const double partial = static_cast<double>(work.partial_tiles) * tiles_per_block;
  const double ctas = std::max(1.0, static_cast<double>(lines) * rows_per_block);
  const double unit = 4.0 * tq * tk * static_cast<double>(head_dim) * (backward ? profile.backward_flops_factor : 1.0) /
                      (profile.peak_bf16_tflops * 1e6 / sms);  // us for a full tile at 100% of one SM's peak
  s.spread = {ctas * h / sms * unit, full * h / sms * unit, partial * h / sms * unit};
  // The longest CTA, its tiles split as full and partial in the call's proportion.
  const double len = static_cast<double>(longest) * cta_len_per_block;
  const double partial_share = partial / (full + partial);
  s.longest = {unit, len * (1.0 - partial_share) * unit, len * partial_share * unit};
  if (backward) {
    const double queries = static_cast<double>(work.active_rows) * b;
    s.extra_us = queries * h * static_cast<double>(head_dim) * kernel.backward.extra_bytes_per_element.value / (profile.hbm_bandwidth_tb_s * 1e6);
  }
  return s;
}

CostParts kernel_parts(const KernelShape& s, double launch_us, double efficiency, double cta_overhead_tiles, double partial_tile_cost) {
  CostParts p;
  if (s.empty) return p;
  const std::array<double, 3> x = {cta_overhead_tiles / efficiency, 1.0 / efficiency, partial_tile_cost / efficiency};
  double longest = 0;
  for (std::size_t i = 0; i < 3; ++i) longest += s.longest[i] * x[i];
  p.launch_us = launch_us;
  p.cta_us = s.spread[0] * x[0];
  p.tiles_us = s.spread[1] * x[1] + s.spread[2] * x[2];
  p.longest_us = std::max(0.0, longest - (p.cta_us + p.tiles_us));
  p.other_us = s.extra_us;
  return p;
}

double kernel_time_us(const KernelShape& s, double launch_us, double efficiency, double cta_overhead_tiles, double partial_tile_cost) {
  return kernel_parts(s, launch_us, efficiency, cta_overhead_tiles, partial_tile_cost).total();
}

CostModel::CostModel(const HardwareProfile& profile, const ModelShape& model, std::int64_t block, const KernelSpec& kernel)
    : kernel_(kernel), model_(model), block_(block) {
  gpu_.sm_count = profile.sm_count;
  gpu_.peak_bf16_tflops = profile.peak_bf16_tflops;
  gpu_.hbm_bandwidth_tb_s = profile.hbm_bandwidth_tb_s;
  gpu_.backward_flops_factor = profile.backward_flops_factor;
  for (const bool backward : {false, true}) {
    double best = 0;
    for (const KernelSpec& k : profile.kernels) {
      const KernelConstants c = k.at(backward, model.head_dim);
      best = std::max(best, c.efficiency.value / std::min(1.0, c.partial_tile_cost.value));
    }
    best_pair_rate_[backward ? 1 : 0] = best;
  }
}

CostParts CostModel::kernel_parts(const KernelWork& work, bool backward) const {
  const KernelShape s = kernel_shape(work, block_, model_.q_heads, model_.head_dim, backward, kernel_, gpu_);
  const KernelConstants k = kernel_.at(backward, model_.head_dim);
  return cpsim::kernel_parts(s, kernel_.pass(backward).launch_us.value, k.efficiency.value, k.cta_overhead_tiles.value, k.partial_tile_cost.value);
}

double CostModel::kernel_us(const KernelWork& work, bool backward) const { return kernel_parts(work, backward).total(); }

double CostModel::efficiency(bool backward) const { return kernel_.at(backward, model_.head_dim).efficiency.value; }

double CostModel::merge_us(std::int64_t rows) const {
  if (rows <= 0) return 0;
  // The out elements, plus the LSE (fp32: read block_lse and lse, write lse).
  const double bytes = static_cast<double>(rows) * static_cast<double>(model_.q_heads) *
                       (static_cast<double>(model_.head_dim) * kMergeBytesPerElement + 12.0);
  return kernel_.forward.launch_us.value + bytes / (gpu_.hbm_bandwidth_tb_s * 1e6);  // TB/s = 1e6 bytes/us
}

double CostModel::accumulate_us(std::int64_t q_rows, std::int64_t kv_rows) const {
  if (q_rows <= 0 && kv_rows <= 0) return 0;
  const double elements = (static_cast<double>(q_rows) * static_cast<double>(model_.q_heads) +
                           2.0 * static_cast<double>(kv_rows) * static_cast<double>(model_.kv_heads)) *
                          static_cast<double>(model_.head_dim);
  return kernel_.backward.launch_us.value + elements * kAccumulateBytesPerElement / (gpu_.hbm_bandwidth_tb_s * 1e6);
}

double CostModel::useful_flops(std::int64_t pairs, bool backward) const {
  return 4.0 * static_cast<double>(model_.head_dim) * static_cast<double>(model_.q_heads) * static_cast<double>(pairs) *
         (backward ? gpu_.backward_flops_factor : 1.0);
}

double CostModel::ideal_us(double flops, std::int64_t ranks, bool backward) const {
  // A partial tile holds at most a tile's pairs, so where it costs less than a full tile (a kernel that skips
  // masked pairs, as the CPU executor does) a pair can cost as little as that share of its full-tile time.
  return flops / (static_cast<double>(ranks) * best_pair_rate_[backward ? 1 : 0] * gpu_.peak_bf16_tflops * 1e6);
}

}  // namespace cpsim
