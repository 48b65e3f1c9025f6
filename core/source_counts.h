// C_s(x): how many positions below x each rank (source) holds in one row's layout, for all sources at once,
// from a table of counts at every G-th position. Used where a layout's runs are too short to walk one by
// one (token-level striping): the K/V demand and the tile count of document and window masks.
#pragma once

#include <cstdint>
#include <vector>

#include "core/layout.h"

namespace cpsim {

class SourceCounts {
 public:
  // O(S) time; at most S + S/64 * W 32-bit counts and S 16-bit ranks of memory.
  explicit SourceCounts(const RowLayout& layout);

  // out[s] = C_s(x), positions < x held by rank s (x clamped to [0, S]); out must hold W entries.
  // O(W + G) with G = max(64, W).
  void below(std::int64_t x, std::vector<std::int64_t>& out) const;

 private:
  std::int64_t seq_len_ = 0;
  std::int64_t world_size_ = 1;
  std::int64_t group_ = 64;
  std::vector<std::uint16_t> source_of_;  // rank holding each position
  std::vector<std::int32_t> table_;       // [g * W + s]: positions < g * G held by rank s
};

}  // namespace cpsim
