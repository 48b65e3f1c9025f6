// Builds the block-sparse tile lists from key intervals; O(tiles^2 log tile) per call.
#include "backend/block_csr.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace cpsim {

BlockCsr build_block_csr(const std::vector<std::int64_t>& q_lo, const std::vector<std::int64_t>& q_hi,
                         const std::vector<std::int64_t>& k_pos, int tile) {
  const auto nq = static_cast<std::int64_t>(q_lo.size()), nk = static_cast<std::int64_t>(k_pos.size());
  const std::int64_t q_tiles = (nq + tile - 1) / tile, k_tiles = (nk + tile - 1) / tile;
  // Key tiles: sorted positions, smallest and largest.
  std::vector<std::vector<std::int64_t>> keys(static_cast<std::size_t>(k_tiles));
  for (std::int64_t j = 0; j < k_tiles; ++j) {
    auto& v = keys[static_cast<std::size_t>(j)];
    v.assign(k_pos.begin() + j * tile, k_pos.begin() + std::min(nk, (j + 1) * tile));
    std::sort(v.begin(), v.end());
  }
  BlockCsr csr;
  csr.row_ptr.push_back(0);
  std::vector<std::pair<std::int64_t, std::int64_t>> u;
  for (std::int64_t i = 0; i < q_tiles; ++i) {
    u.clear();
    std::int64_t f_lo = std::numeric_limits<std::int64_t>::min(), f_hi = std::numeric_limits<std::int64_t>::max();
    for (std::int64_t q = i * tile; q < std::min(nq, (i + 1) * tile); ++q) {
      u.emplace_back(q_lo[static_cast<std::size_t>(q)], q_hi[static_cast<std::size_t>(q)]);
      f_lo = std::max(f_lo, q_lo[static_cast<std::size_t>(q)]);
      f_hi = std::min(f_hi, q_hi[static_cast<std::size_t>(q)]);
    }
    std::sort(u.begin(), u.end());
    std::vector<std::pair<std::int64_t, std::int64_t>> merged;
    for (const auto& iv : u) {
      if (!merged.empty() && iv.first <= merged.back().second + 1) {
        merged.back().second = std::max(merged.back().second, iv.second);
      } else {
        merged.push_back(iv);
      }
    }
    for (std::int64_t j = 0; j < k_tiles; ++j) {
      const auto& v = keys[static_cast<std::size_t>(j)];
      bool any = false;
      for (const auto& [lo, hi] : merged) {
        const auto it = std::lower_bound(v.begin(), v.end(), lo);
        if (it != v.end() && *it <= hi) {
          any = true;
          break;
        }
      }
      if (!any) continue;
      csr.cols.push_back(static_cast<int>(j));
      csr.full.push_back(f_lo <= f_hi && v.front() >= f_lo && v.back() <= f_hi ? 1 : 0);
    }
    csr.row_ptr.push_back(static_cast<int>(csr.cols.size()));
  }
  return csr;
}

}  // namespace cpsim
