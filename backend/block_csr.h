// Block-sparse structure of one kernel call for the CUDA executor (host side, no CUDA headers): for each
// tile of local queries, the key tiles that hold a visible key and whether every pair in the tile is
// visible (then the kernel skips per-element masking). Same rule as work accounting: a key tile is
// non-empty iff it has a key in the union U of its queries' intervals, full iff all its keys lie in F.
#pragma once

#include <cstdint>
#include <vector>

namespace cpsim {

struct BlockCsr {
  std::vector<int> row_ptr;        // [query tiles + 1]
  std::vector<int> cols;           // key tile index
  std::vector<unsigned char> full; // 1 when no masking is needed
};

// q_lo/q_hi: visible key interval per local query; k_pos: original position per local key.
BlockCsr build_block_csr(const std::vector<std::int64_t>& q_lo, const std::vector<std::int64_t>& q_hi,
                         const std::vector<std::int64_t>& k_pos, int tile);

}  // namespace cpsim
