// The CUDA executor's host-side block-sparse lists, against a brute-force classification of every tile.
#include <gtest/gtest.h>

#include <random>

#include "backend/block_csr.h"
#include "core/mask.h"
#include "core/plan.h"
#include "core/test_util.h"

namespace cpsim {
namespace {

TEST(BlockCsr, MatchesBruteForceForEveryRankAndSource) {
  std::mt19937_64 rng(11);
  for (const MaskKind kind : all_mask_kinds()) {
    const Workload w = testing::make_workload(512, kind, {{40, 96, 8, 112, 128, 128}}, 50, 100);
    for (const auto& balancer : balancer_registry()) {
      auto plan = make_plan(w, "t.json", balancer->name(), 4, 32);
      ASSERT_TRUE(plan.ok());
      const RowLayout& layout = plan->layouts[0];
      const RowMask mask(w.mask, w.seq_len, w.documents[0]);
      const std::int64_t n = layout.shard_len();
      const int tile = rng() % 2 == 0 ? 16 : 64;
      for (std::int64_t r = 0; r < 4; ++r) {
        std::vector<std::int64_t> lo, hi;
        for (std::int64_t slot = r * n; slot < (r + 1) * n; ++slot) {
          const KeyInterval iv = mask.interval(layout.rearrange()[static_cast<std::size_t>(slot)]);
          lo.push_back(iv.lo);
          hi.push_back(iv.hi);
        }
        for (std::int64_t s = 0; s < 4; ++s) {
          const std::vector<std::int64_t> k(layout.rearrange().begin() + s * n, layout.rearrange().begin() + (s + 1) * n);
          const BlockCsr csr = build_block_csr(lo, hi, k, tile);
          std::size_t at = 0;
          for (std::int64_t qt = 0; qt * tile < n; ++qt) {
            for (std::int64_t kt = 0; kt * tile < n; ++kt) {
              std::int64_t seen = 0, cells = 0;
              for (std::int64_t q = qt * tile; q < std::min(n, (qt + 1) * tile); ++q) {
                for (std::int64_t j = kt * tile; j < std::min(n, (kt + 1) * tile); ++j) {
                  ++cells;
                  const std::int64_t p = k[static_cast<std::size_t>(j)];
                  seen += p >= lo[static_cast<std::size_t>(q)] && p <= hi[static_cast<std::size_t>(q)];
                }
              }
              if (seen == 0) continue;
              ASSERT_LT(at, csr.cols.size());
              EXPECT_EQ(csr.cols[at], kt);
              EXPECT_EQ(csr.full[at], seen == cells ? 1 : 0);
              ++at;
            }
            EXPECT_EQ(static_cast<std::size_t>(csr.row_ptr[static_cast<std::size_t>(qt + 1)]), at);
          }
          EXPECT_EQ(at, csr.cols.size());
        }
      }
    }
  }
}

}  // namespace
}  // namespace cpsim
