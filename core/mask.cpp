// Interval rules of the mask kinds, and the closed-form pair count used by work accounting.
#include "mask.h"

#include <algorithm>
#include <array>
#include <cassert>

namespace cpsim {
namespace {

// Sum over t in [0, len) of max(0, g0 + slope * t), for slope in {-1, 0, 1}.
std::int64_t sum_positive_linear(std::int64_t g0, std::int64_t slope, std::int64_t len) {
  if (len <= 0) return 0;
  if (slope == 0) return g0 > 0 ? g0 * len : 0;
  if (slope > 0) {
    const std::int64_t t0 = std::max<std::int64_t>(0, 1 - g0);  // first t with a positive value
    if (t0 >= len) return 0;
    const std::int64_t first = g0 + t0;
    const std::int64_t last = g0 + len - 1;
    return (last - first + 1) * (first + last) / 2;
  }
  if (g0 <= 0) return 0;
  const std::int64_t t1 = std::min(len - 1, g0 - 1);  // last t with a positive value
  return (t1 + 1) * (2 * g0 - t1) / 2;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b) return std::numeric_limits<std::int64_t>::max();
  return a + b;
}

}  // namespace

std::int64_t count_visible_pairs(const IntervalRule& rule, std::int64_t a, std::int64_t b, std::int64_t c,
                                 std::int64_t d) {
  if (a > b || c > d) return 0;
  // g(q) = min(hi(q), d) - max(lo(q), c) + 1 is linear between these breakpoints, with slope -1, 0 or 1.
  const auto g = [&](std::int64_t q) {
    const KeyInterval iv = rule.at(q);
    return std::min(iv.hi, d) - std::max(iv.lo, c) + 1;
  };
  std::array<std::int64_t, 4> breaks{
      saturating_add(rule.hi_floor, 1),                            // hi(q) leaves the constant H
      saturating_add(d, 1),                                        // min(q, d) saturates at d
      saturating_add(std::max(rule.lo_floor, c), rule.window),     // q - w + 1 overtakes max(L, c)
      std::numeric_limits<std::int64_t>::max(),
  };
  std::sort(breaks.begin(), breaks.end());
  std::int64_t total = 0;
  std::int64_t x = a;
  for (const std::int64_t brk : breaks) {
    if (x > b) break;
    if (brk <= x) continue;
    const std::int64_t y = std::min(b, brk - 1);  // piece [x, y]
    const std::int64_t g0 = g(x);
    const std::int64_t slope = y > x ? g(x + 1) - g0 : 0;
    assert(slope >= -1 && slope <= 1);
    total += sum_positive_linear(g0, slope, y - x + 1);
    x = y + 1;
  }
  return total;
}

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
