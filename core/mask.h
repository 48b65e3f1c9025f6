// Masks as key intervals: for every built-in mask kind, query q sees exactly the keys
// [lo(q), hi(q)] with lo(q) = max(L, q - w + 1) and hi(q) = max(q, H), where L, H and w are
// constant over a segment (a document, or the whole row). Work is counted with arithmetic on
// these intervals; nothing here allocates an S x S (or tile x tile) array.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "workload.h"

namespace cpsim {

inline constexpr std::int64_t kUnboundedWindow = std::numeric_limits<std::int64_t>::max() / 4;

struct KeyInterval {
  std::int64_t lo = 0;  // inclusive
  std::int64_t hi = -1; // inclusive; hi < lo means empty
};

// The union of `intervals` as disjoint ascending intervals, touching ones joined, written into `out`
// (cleared first: a caller that merges often reuses it). Sorts `intervals` by lo unless they already are.
void merge_intervals(std::vector<KeyInterval>& intervals, std::vector<KeyInterval>& out);

// The interval rule of one segment.
struct IntervalRule {
  std::int64_t lo_floor = 0;                 // L: document start, or 0
  std::int64_t hi_floor = -1;                // H: -1 for causal kinds, last key for full kinds, prefix-1 for prefix_lm
  std::int64_t window = kUnboundedWindow;    // w

  KeyInterval at(std::int64_t q) const {
    return {std::max(lo_floor, q - window + 1), std::max(q, hi_floor)};
  }
};

// The mask of one batch row as a list of segments, each with its interval rule.
class RowMask {
 public:
  struct Segment {
    std::int64_t begin = 0;  // first position
    std::int64_t end = 0;    // one past the last position
    IntervalRule rule;
  };

  RowMask(const Mask& mask, std::int64_t seq_len, const std::vector<std::int64_t>& documents);

  const std::vector<Segment>& segments() const { return segments_; }
  // Index of the segment holding position q (0 <= q < seq_len).
  std::size_t segment_of(std::int64_t q) const;
  KeyInterval interval(std::int64_t q) const { return segments_[segment_of(q)].rule.at(q); }

 private:
  std::vector<Segment> segments_;
};

// Per Q block of `block` original positions: how many KV blocks hold at least one visible key,
// partial and full alike (FlexAttention's kv_num_blocks + full_kv_num_blocks). PTRR's block cost.
std::vector<std::int64_t> nonempty_kv_blocks(const RowMask& mask, std::int64_t seq_len, std::int64_t block);

// Per Q block: how many of those KV blocks are full (every (q, k) pair visible, so the kernel runs them
// unmasked). Uses that lo(q) and hi(q) never decrease with q for every built-in mask kind, so the keys all
// queries of a block see are [lo(last query), hi(first query)].
std::vector<std::int64_t> full_kv_blocks(const RowMask& mask, std::int64_t seq_len, std::int64_t block);

// Useful (q, k) pairs of the queries [begin, end) (each query's interval, summed).
std::int64_t visible_pairs(const RowMask& mask, std::int64_t begin, std::int64_t end);

}  // namespace cpsim
