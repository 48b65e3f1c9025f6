// Mask intervals and block-mask costs against the mask definitions.
#include <gtest/gtest.h>

#include "core/mask.h"
#include "core/test_util.h"

namespace cpsim {
namespace {

TEST(RowMask, IntervalsMatchDefinitionForEveryKind) {
  const std::vector<std::int64_t> docs{5, 1, 9, 17};
  const auto doc_of = testing::document_ids(docs);
  for (const MaskKind kind : all_mask_kinds()) {
    for (const std::int64_t param : {1, 3, 7, 32}) {
      const Workload w = testing::make_workload(32, kind, {docs}, param, std::min<std::int64_t>(param, 32));
      const RowMask mask(w.mask, 32, docs);
      for (std::int64_t q = 0; q < 32; ++q) {
        const KeyInterval iv = mask.interval(q);
        for (std::int64_t k = 0; k < 32; ++k) {
          EXPECT_EQ(k >= iv.lo && k <= iv.hi, testing::visible(w, doc_of, q, k))
              << mask_kind_name(kind) << " param " << param << " q " << q << " k " << k;
        }
      }
    }
  }
}

TEST(NonemptyKvBlocks, DocumentCausalBlocksCountTheirDocumentPrefix) {
  const Workload w = testing::make_workload(16, MaskKind::kDocumentCausal, {{4, 8, 4}});
  const RowMask mask(w.mask, 16, w.documents[0]);
  EXPECT_EQ(nonempty_kv_blocks(mask, 16, 1), (std::vector<std::int64_t>{1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4}));
  // Block size 4: block 1 (tokens 4..7) sees only block 1; block 2 (8..11) sees blocks 1 and 2.
  EXPECT_EQ(nonempty_kv_blocks(mask, 16, 4), (std::vector<std::int64_t>{1, 1, 2, 1}));
}

// KV blocks of a 32-token row that Q block `qb` sees at least one key of, and all keys of, pair by pair.
struct BlockCounts {
  std::int64_t nonempty = 0, full = 0;
};
BlockCounts brute_kv_blocks(const Workload& w, const std::vector<std::int64_t>& doc_of, std::int64_t block, std::int64_t qb) {
  BlockCounts out;
  for (std::int64_t kb = 0; kb < (32 + block - 1) / block; ++kb) {
    bool any = false, all = true;
    for (std::int64_t q = qb * block; q < std::min<std::int64_t>(32, (qb + 1) * block); ++q) {
      for (std::int64_t k = kb * block; k < std::min<std::int64_t>(32, (kb + 1) * block); ++k) {
        const bool seen = testing::visible(w, doc_of, q, k);
        any = any || seen;
        all = all && seen;
      }
    }
    out.nonempty += any;
    out.full += all;
  }
  return out;
}

// Block counts (non-empty and full, per Q block) and visible pairs against the pair-by-pair definition.
TEST(KvBlocksAndPairs, MatchBruteForceOnEveryKind) {
  const std::vector<std::int64_t> docs{3, 10, 6, 13};
  const auto doc_of = testing::document_ids(docs);
  for (const MaskKind kind : all_mask_kinds()) {
    const Workload w = testing::make_workload(32, kind, {docs}, 5, 9);
    const RowMask mask(w.mask, 32, docs);
    for (const std::int64_t block : {1, 2, 4, 5, 8}) {
      const auto nonempty = nonempty_kv_blocks(mask, 32, block);
      const auto full = full_kv_blocks(mask, 32, block);
      for (std::int64_t qb = 0; qb < (32 + block - 1) / block; ++qb) {
        const BlockCounts expected = brute_kv_blocks(w, doc_of, block, qb);
        const auto i = static_cast<std::size_t>(qb);
        EXPECT_EQ(nonempty[i], expected.nonempty) << mask_kind_name(kind) << " block " << block << " q block " << qb;
        EXPECT_EQ(full[i], expected.full) << mask_kind_name(kind) << " block " << block << " q block " << qb;
      }
    }
    for (std::int64_t begin = 0; begin < 32; begin += 7) {
      std::int64_t expected = 0;
      for (std::int64_t q = begin; q < 32; ++q) {
        for (std::int64_t k = 0; k < 32; ++k) expected += testing::visible(w, doc_of, q, k);
      }
      EXPECT_EQ(visible_pairs(mask, begin, 32), expected) << mask_kind_name(kind) << " from " << begin;
    }
  }
}

TEST(MergeIntervals, UnionOfUnsortedOverlappingTouchingAndNestedIntervals) {
  std::vector<KeyInterval> in{{20, 25}, {0, 3}, {4, 6}, {10, 30}, {12, 14}, {40, 40}, {2, 5}};
  std::vector<KeyInterval> out{{99, 99}};  // cleared first
  merge_intervals(in, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].lo, 0);  // 0-3, 2-5 and 4-6 touch or overlap
  EXPECT_EQ(out[0].hi, 6);
  EXPECT_EQ(out[1].lo, 10);  // 12-14 and 20-25 inside 10-30
  EXPECT_EQ(out[1].hi, 30);
  EXPECT_EQ(out[2].lo, 40);
  EXPECT_EQ(out[2].hi, 40);
}

}  // namespace
}  // namespace cpsim
