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

}  // namespace cpsim
