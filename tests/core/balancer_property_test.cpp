// Property tests over every balancer and random workloads (S <= 512, every mask kind): indices are
// permutations, restore inverts rearrange, ranks own what the balancer promises, and the work
// account (by either tile method) equals a brute-force count pair by pair and tile by tile.
#include <gtest/gtest.h>

#include <random>

#include "core/balancer.h"
#include "core/plan.h"
#include "core/test_util.h"

namespace cpsim {
namespace {

struct Case {
  Workload workload;
  std::int64_t world = 1;
  std::int64_t tile = 1;
};

// Random workloads whose document lengths are often multiples of 2W, so that every balancer gets exercised.
Case random_case(std::mt19937_64& rng) {
  const std::int64_t worlds[] = {1, 2, 3, 4, 8};
  const std::int64_t world = worlds[rng() % 5];
  const std::int64_t unit = (rng() % 3 == 0) ? 1 : 2 * world;
  const std::int64_t tiles[] = {1, 2, 3, 4, 8, 16, 32};
  const std::int64_t tile = tiles[rng() % 7];
  std::int64_t s = 0;
  do {
    s = static_cast<std::int64_t>(1 + rng() % 512);
    s -= s % (2 * world * (rng() % 2 == 0 ? tile : 1));
  } while (s <= 0 || s % world != 0);
  const auto kinds = all_mask_kinds();
  const MaskKind kind = kinds[rng() % kinds.size()];
  const std::int64_t rows = 1 + static_cast<std::int64_t>(rng() % 2);
  std::vector<std::vector<std::int64_t>> docs;
  for (std::int64_t row = 0; row < rows; ++row) {
    std::vector<std::int64_t> lengths;
    std::int64_t left = s;
    while (left > 0) {
      std::int64_t len = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(std::max<std::int64_t>(1, s / 3)));
      if (s % unit == 0) len = std::max(unit, len / unit * unit);
      len = std::min(len, left);
      lengths.push_back(len);
      left -= len;
    }
    docs.push_back(lengths);
  }
  const std::int64_t window = 1 + static_cast<std::int64_t>(rng() % 40);
  const std::int64_t prefix = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(s + 1));
  return {testing::make_workload(s, kind, docs, window, prefix), world, tile};
}

void expect_same_work(const WorkAccount& got, const WorkAccount& want, const std::string& what) {
  for (std::int64_t r = 0; r < want.world_size(); ++r) {
    for (std::int64_t i = 0; i < want.world_size(); ++i) {
      ASSERT_EQ(got.step_pairs(r, i), want.step_pairs(r, i)) << what << " pairs rank " << r << " step " << i;
      ASSERT_EQ(got.step_tiles(r, i).full, want.step_tiles(r, i).full) << what << " full tiles rank " << r << " step " << i;
      ASSERT_EQ(got.step_tiles(r, i).partial, want.step_tiles(r, i).partial)
          << what << " partial tiles rank " << r << " step " << i;
      ASSERT_EQ(got.step_rows(r, i).active_rows, want.step_rows(r, i).active_rows) << what << " active rows " << r << " " << i;
      ASSERT_EQ(got.step_rows(r, i).max_row_tiles, want.step_rows(r, i).max_row_tiles) << what << " max row " << r << " " << i;
    }
  }
}

TEST(BalancerProperties, RandomWorkloadsMatchBruteForce) {
  std::mt19937_64 rng(20261127);
  int planned = 0;
  for (int iteration = 0; iteration < 300; ++iteration) {
    const Case c = random_case(rng);
    std::int64_t expected_total = -1;
    for (const auto& balancer : balancer_registry()) {
      auto plan = make_plan(c.workload, "random.json", balancer->name(), c.world, c.tile);
      if (!plan) continue;  // e.g. head_tail with S % 2W != 0: covered by the golden tests
      ++planned;
      const std::string what = std::string(balancer->name()) + " S=" + std::to_string(c.workload.seq_len) + " W=" +
                               std::to_string(c.world) + " T=" + std::to_string(c.tile) + " mask=" +
                               std::string(mask_kind_name(c.workload.mask.kind));
      for (const auto& layout : plan->layouts) {
        // A permutation whose restore is its inverse, in both directions.
        const auto& re = layout.rearrange();
        const auto& back = layout.restore();
        for (std::int64_t slot = 0; slot < c.workload.seq_len; ++slot) {
          ASSERT_EQ(back[static_cast<std::size_t>(re[static_cast<std::size_t>(slot)])], slot) << what;
          ASSERT_EQ(re[static_cast<std::size_t>(back[static_cast<std::size_t>(slot)])], slot) << what;
        }
      }
      const WorkAccount brute = testing::brute_force_work(c.workload, plan->layouts, c.tile);
      expect_same_work(plan->work, brute, what);
      // Both tile methods, whichever the plan picked (the position table where the shards ascend).
      expect_same_work(account_work(c.workload, plan->layouts, c.tile, TileMethod::kRuns), brute, what + " (runs)");
      expect_same_work(account_work(c.workload, plan->layouts, c.tile, TileMethod::kPositionTable), brute, what + " (table)");
      if (expected_total < 0) expected_total = brute.total_pairs();
      ASSERT_EQ(plan->work.total_pairs(), expected_total) << what << ": total work must not depend on the balancer";
    }
  }
  EXPECT_GT(planned, 600);
}

TEST(BalancerProperties, RankMajorOwnership) {
  const std::int64_t w = 4;
  const Workload wl = testing::make_workload(64, MaskKind::kDocumentCausal, {{16, 40, 8}});
  // head_tail: rank r owns global chunks r and 2W-1-r.
  auto ht = make_plan(wl, "t.json", "head_tail", w, 8);
  ASSERT_TRUE(ht.ok());
  for (std::int64_t p = 0; p < 64; ++p) {
    const std::int64_t chunk = p / 8;
    EXPECT_EQ(ht->layouts[0].rank_of_position(p), chunk < w ? chunk : 2 * w - 1 - chunk);
  }
  // per_document_head_tail: every rank owns len/W tokens of every document, head chunk first.
  auto pd = make_plan(wl, "t.json", "per_document_head_tail", w, 8);
  ASSERT_TRUE(pd.ok());
  const auto doc_of = testing::document_ids(wl.documents[0]);
  for (std::int64_t r = 0; r < w; ++r) {
    std::vector<std::int64_t> per_doc(3, 0);
    for (std::int64_t slot = r * 16; slot < (r + 1) * 16; ++slot) ++per_doc[static_cast<std::size_t>(doc_of[static_cast<std::size_t>(pd->layouts[0].rearrange()[static_cast<std::size_t>(slot)])])];
    EXPECT_EQ(per_doc, (std::vector<std::int64_t>{4, 10, 2})) << "rank " << r;
  }
  // ptrr: every rank owns whole blocks, in ascending block order.
  auto pt = make_plan(wl, "t.json", "ptrr", w, 8);
  ASSERT_TRUE(pt.ok());
  const auto& re = pt->layouts[0].rearrange();
  for (std::int64_t slot = 0; slot < 64; ++slot) {
    const auto here = re[static_cast<std::size_t>(slot)];
    if (slot % 8 != 0) {
      EXPECT_EQ(here, re[static_cast<std::size_t>(slot - 1)] + 1);
    } else if (slot % 16 != 0) {
      EXPECT_GT(here, re[static_cast<std::size_t>(slot - 1)]);
    }
  }
}

TEST(BalancerProperties, RegistryNamesAreUniqueAndFindable) {
  for (const auto& b : balancer_registry()) {
    EXPECT_EQ(find_balancer(b->name()), b.get());
    EXPECT_FALSE(b->summary().empty());
  }
  EXPECT_EQ(find_balancer("round_robin"), nullptr);
}

}  // namespace
}  // namespace cpsim
