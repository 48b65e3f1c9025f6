// Interval rules of the mask kinds, and the per-block costs of the block mask.
#include "mask.h"

#include <algorithm>
#include <cassert>

namespace cpsim {
RowMask::RowMask(const Mask& mask, std::int64_t seq_len, const std::vector<std::int64_t>& documents) {
  const bool windowed = mask_needs_window(mask.kind);
  const std::int64_t window = windowed ? mask.window : kUnboundedWindow;
  if (!mask_uses_documents(mask.kind)) {
    IntervalRule rule;
    rule.window = window;
    switch (mask.kind) {
      case MaskKind::kFull: rule.hi_floor = seq_len - 1; break;
      case MaskKind::kPrefixLm: rule.hi_floor = mask.prefix - 1; break;
      default: rule.hi_floor = -1; break;  // causal, sliding_window
    }
    segments_.push_back({0, seq_len, rule});
    return;
  }
  std::int64_t start = 0;
  for (const std::int64_t len : documents) {
    IntervalRule rule;
    rule.lo_floor = start;
    rule.window = window;
    rule.hi_floor = mask.kind == MaskKind::kDocumentFull ? start + len - 1 : -1;
    segments_.push_back({start, start + len, rule});
    start += len;
  }
  assert(start == seq_len);
}

std::size_t RowMask::segment_of(std::int64_t q) const {
  const auto it = std::upper_bound(segments_.begin(), segments_.end(), q,
                                   [](std::int64_t pos, const Segment& s) { return pos < s.end; });
  assert(it != segments_.end());
  return static_cast<std::size_t>(it - segments_.begin());
}

std::vector<std::int64_t> nonempty_kv_blocks(const RowMask& mask, std::int64_t seq_len, std::int64_t block) {
  const std::int64_t blocks = (seq_len + block - 1) / block;
  std::vector<std::int64_t> costs(static_cast<std::size_t>(blocks), 0);
  std::size_t seg = 0;
  for (std::int64_t i = 0; i < blocks; ++i) {
    const std::int64_t end = std::min(seq_len, (i + 1) * block);
    std::int64_t last_counted = -1;
    // The queries of one segment inside the block see one contiguous key range [lo(a), hi(b)], and
    // these ranges only move right from segment to segment.
    for (std::int64_t a = i * block; a < end;) {
      while (mask.segments()[seg].end <= a) ++seg;
      const auto& segment = mask.segments()[seg];
      const std::int64_t b = std::min(end, segment.end) - 1;
      const std::int64_t lo_block = segment.rule.at(a).lo / block;
      const std::int64_t hi_block = segment.rule.at(b).hi / block;
      const std::int64_t from = std::max(lo_block, last_counted + 1);
      if (hi_block >= from) costs[static_cast<std::size_t>(i)] += hi_block - from + 1;
      last_counted = std::max(last_counted, hi_block);
      a = b + 1;
    }
  }
  return costs;
}

std::vector<std::int64_t> full_kv_blocks(const RowMask& mask, std::int64_t seq_len, std::int64_t block) {
  const std::int64_t blocks = (seq_len + block - 1) / block;
  std::vector<std::int64_t> full(static_cast<std::size_t>(blocks), 0);
  for (std::int64_t i = 0; i < blocks; ++i) {
    const std::int64_t first = i * block, last = std::min(seq_len, (i + 1) * block) - 1;
    const std::int64_t lo = mask.interval(last).lo;
    const std::int64_t hi = std::min(mask.interval(first).hi, seq_len - 1);
    // Whole blocks inside [lo, hi]: from ceil(lo / T) up to the last j with (j + 1) * T - 1 <= hi.
    const std::int64_t from = (lo + block - 1) / block;
    const std::int64_t to = hi == seq_len - 1 ? blocks : (hi + 1) / block;  // one past (the last block may be short)
    full[static_cast<std::size_t>(i)] = std::max<std::int64_t>(0, to - from);
  }
  return full;
}

std::int64_t visible_pairs(const RowMask& mask, std::int64_t begin, std::int64_t end) {
  std::int64_t pairs = 0;
  if (begin >= end) return 0;
  for (std::size_t seg = mask.segment_of(begin); seg < mask.segments().size(); ++seg) {
    const auto& segment = mask.segments()[seg];
    if (segment.begin >= end) break;
    for (std::int64_t q = std::max(begin, segment.begin); q < std::min(end, segment.end); ++q) {
      const KeyInterval k = segment.rule.at(q);
      pairs += k.hi - k.lo + 1;
    }
  }
  return pairs;
}

void merge_intervals(std::vector<KeyInterval>& intervals, std::vector<KeyInterval>& out) {
  const auto by_lo = [](const KeyInterval& a, const KeyInterval& b) { return a.lo < b.lo; };
  if (!std::is_sorted(intervals.begin(), intervals.end(), by_lo)) std::sort(intervals.begin(), intervals.end(), by_lo);
  out.clear();
  for (const KeyInterval& k : intervals) {
    if (!out.empty() && k.lo <= out.back().hi + 1) {
      out.back().hi = std::max(out.back().hi, k.hi);
    } else {
      out.push_back(k);
    }
  }
}

}  // namespace cpsim
