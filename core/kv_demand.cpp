// Per rank: the union of its queries' key intervals (one interval per run and mask segment, merged), then
// every source's positions inside each interval of that union, C_s(hi + 1) - C_s(lo), from the row's
// position-count table (walking the runs instead costs a pass over the whole union per rank when runs are
// one token long, as with token striping). The executors list the positions themselves, run by run.
#include "core/kv_demand.h"

#include <algorithm>

#include "core/mask.h"
#include "core/source_counts.h"

namespace cpsim {

std::vector<std::vector<KeyInterval>> visible_keys(const Plan& plan, std::size_t row) {
  const std::int64_t w = plan.world_size;
  const std::int64_t s = plan.workload.seq_len;
  const RowLayout& layout = plan.layouts[row];
  const RowMask mask(plan.workload.mask, s, plan.workload.documents[row]);
  std::vector<std::vector<KeyInterval>> seen(static_cast<std::size_t>(w));
  for (const Run& run : layout.runs()) {
    auto& keys = seen[static_cast<std::size_t>(layout.rank_of_slot(run.slot))];
    const std::int64_t end = run.position + run.length;
    // Inside one segment lo and hi never decrease, so the run's keys there are [lo(first), hi(last)].
    for (std::size_t seg = mask.segment_of(run.position); seg < mask.segments().size(); ++seg) {
      const auto& segment = mask.segments()[seg];
      if (segment.begin >= end) break;
      const std::int64_t a = std::max(run.position, segment.begin), b = std::min(end, segment.end) - 1;
      keys.push_back({segment.rule.at(a).lo, std::min(segment.rule.at(b).hi, s - 1)});
    }
  }
  for (auto& keys : seen) {
    std::vector<KeyInterval> merged;
    merge_intervals(keys, merged);
    keys = std::move(merged);
  }
  return seen;
}

std::vector<std::int64_t> kv_demand_tokens(const Plan& plan) {
  const std::int64_t w = plan.world_size;
  std::vector<std::int64_t> demand(static_cast<std::size_t>(w * w), 0);
  for (std::size_t row = 0; row < plan.layouts.size(); ++row) {
    const SourceCounts counts(plan.layouts[row]);
    std::vector<std::int64_t> below_lo(static_cast<std::size_t>(w)), below_hi(static_cast<std::size_t>(w));
    const auto seen = visible_keys(plan, row);
    for (std::int64_t r = 0; r < w; ++r) {
      for (const KeyInterval& k : seen[static_cast<std::size_t>(r)]) {
        counts.below(k.lo, below_lo);
        counts.below(k.hi + 1, below_hi);
        for (std::int64_t src = 0; src < w; ++src) {
          demand[static_cast<std::size_t>(r * w + src)] += below_hi[static_cast<std::size_t>(src)] - below_lo[static_cast<std::size_t>(src)];
        }
      }
    }
  }
  return demand;
}

std::int64_t most_needed_tokens(const std::vector<std::int64_t>& demand, std::int64_t world_size) {
  std::int64_t most = 0;
  for (std::int64_t r = 0; r < world_size; ++r) {
    std::int64_t tokens = 0;
    for (std::int64_t src = 0; src < world_size; ++src) tokens += demand[static_cast<std::size_t>(r * world_size + src)];
    most = std::max(most, tokens);
  }
  return most;
}

std::vector<std::int64_t> positions_held(const RowLayout& layout, const std::vector<KeyInterval>& keys, std::int64_t source) {
  std::vector<std::int64_t> out;
  for (const KeyInterval& k : keys) {
    for (std::size_t i = layout.first_run_reaching(k.lo); i < layout.runs().size(); ++i) {
      const Run& run = layout.runs()[i];
      if (run.position > k.hi) break;
      if (layout.rank_of_slot(run.slot) != source) continue;
      for (std::int64_t p = std::max(k.lo, run.position); p <= std::min(k.hi, run.position + run.length - 1); ++p) out.push_back(p);
    }
  }
  return out;
}

}  // namespace cpsim
