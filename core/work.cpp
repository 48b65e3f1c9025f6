// Work accounting by interval arithmetic: a stretch of queries that is contiguous in original order and
// inside one mask segment sees one contiguous key range, so pairs come from prefix counts of keys per
// source and tiles from the key ranges of Q tiles. Nothing is O(S^2) or O((S/T)^2).
#include "work.h"

#include <algorithm>
#include <cassert>
#include <optional>

#include "mask.h"
#include "source_counts.h"

namespace cpsim {

WorkAccount::WorkAccount(std::int64_t world_size, std::int64_t tile_size, std::int64_t tiles_per_shard)
    : world_size_(world_size),
      tile_size_(tile_size),
      tiles_per_shard_(tiles_per_shard),
      pairs_(static_cast<std::size_t>(world_size * world_size), 0),
      tiles_(static_cast<std::size_t>(world_size * world_size)),
      step_rows_(static_cast<std::size_t>(world_size * world_size)),
      rank_rows_(static_cast<std::size_t>(world_size)) {}

std::int64_t WorkAccount::rank_pairs(std::int64_t rank) const {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < world_size_; ++i) sum += step_pairs(rank, i);
  return sum;
}

TileCounts WorkAccount::rank_tiles(std::int64_t rank) const {
  TileCounts sum;
  for (std::int64_t i = 0; i < world_size_; ++i) sum += step_tiles(rank, i);
  return sum;
}

std::int64_t WorkAccount::total_pairs() const {
  std::int64_t sum = 0;
  for (const auto p : pairs_) sum += p;
  return sum;
}

TileCounts WorkAccount::total_tiles() const {
  TileCounts sum;
  for (const auto& t : tiles_) sum += t;
  return sum;
}

namespace {

template <typename PerRank>
double max_over_mean(std::int64_t ranks, PerRank value) {
  double max = 0;
  double sum = 0;
  for (std::int64_t r = 0; r < ranks; ++r) {
    const auto v = static_cast<double>(value(r));
    max = std::max(max, v);
    sum += v;
  }
  return sum > 0 ? max / (sum / static_cast<double>(ranks)) : 1.0;
}

// ---------------------------------------------------------------------------------------------
// Pairs. With C_s(x) = keys of source s at positions < x, a query q sees C_s(hi(q)+1) - C_s(lo(q))
// keys of s. Over a stretch of queries [a, b] of one rank, hi(q)+1 and lo(q) are constant or move
// with q, so the sum needs C_s at a few points and D_s(x) = sum_{y<x} C_s(y) = C_s(x)(x-1) - P_s(x)
// (P_s: sum of those positions). One sweep over the runs answers every such probe for all sources:
// O(runs + probes * W), whatever the mask or the balancer.
struct Probe {
  std::int64_t x;       // position
  std::int64_t coef_c;  // weight of C_s(x)
  std::int32_t rank;    // the rank whose queries ask (W <= kMaxWorldSize)
  std::int32_t coef_d;  // weight of D_s(x): -1, 0 or 1
};

// A row's probes, made rank by rank. A rank's stretches in one document share their lower bound (the
// document start), so a lower-bound probe that repeats the previous one is folded into it: token-level
// layouts, one stretch per query, then need about one probe per query instead of two.
struct ProbeList {
  std::vector<Probe> probes;
  std::size_t last_low = static_cast<std::size_t>(-1);

  void add_low(std::int64_t x, std::int64_t coef, std::int32_t rank) {
    if (last_low < probes.size() && probes[last_low].x == x && probes[last_low].rank == rank) {
      probes[last_low].coef_c += coef;
      return;
    }
    last_low = probes.size();
    probes.push_back({x, coef, rank, 0});
  }
};

void add_stretch_probes(std::int64_t rank, std::int64_t a, std::int64_t b, const IntervalRule& rule, ProbeList& list) {
  const auto r = static_cast<std::int32_t>(rank);
  std::vector<Probe>& probes = list.probes;
  if (a == b) {  // one query: C(hi + 1) - C(lo), two probes
    const KeyInterval iv = rule.at(a);
    probes.push_back({iv.hi + 1, 1, r, 0});
    list.add_low(iv.lo, -1, r);
    return;
  }
  // + sum_{q=a..b} C(max(q, H) + 1)
  const std::int64_t h = rule.hi_floor;
  if (a <= h) probes.push_back({h + 1, std::min(b, h) - a + 1, r, 0});
  if (const std::int64_t from = std::max(a, h + 1); from <= b) {
    probes.push_back({b + 2, 0, r, 1});
    probes.push_back({from + 1, 0, r, -1});
  }
  // - sum_{q=a..b} C(max(L, q - w + 1)); q - w + 1 takes over from L at q = L + w
  const std::int64_t w = rule.window;
  const std::int64_t switch_at = rule.lo_floor > kUnboundedWindow - w ? kUnboundedWindow : rule.lo_floor + w;
  if (a < switch_at) list.add_low(rule.lo_floor, -(std::min(b, switch_at - 1) - a + 1), r);
  if (const std::int64_t from = std::max(a, switch_at); from <= b) {
    probes.push_back({b - w + 2, 0, r, -1});
    probes.push_back({from - w + 1, 0, r, 1});
  }
}

// Puts the probes in (position, rank) order. They are made rank by rank, so a stable counting sort on the
// position gives that order in O(probes + S): token-level layouts make about one probe per query, a million
// at 1M tokens, where a comparison sort was a fifth of the accounting.
void sort_probes(std::vector<Probe>& probes) {
  if (probes.empty()) return;
  const auto [lo, hi] = std::minmax_element(probes.begin(), probes.end(), [](const Probe& p, const Probe& q) { return p.x < q.x; });
  const std::int64_t first = lo->x, range = hi->x - lo->x + 1;
  if (range > 4 * static_cast<std::int64_t>(probes.size()) + 1024) {  // sparse positions: sorting is cheaper
    std::stable_sort(probes.begin(), probes.end(), [](const Probe& p, const Probe& q) { return p.x < q.x; });
    return;
  }
  std::vector<std::size_t> start(static_cast<std::size_t>(range) + 1, 0);
  for (const Probe& p : probes) ++start[static_cast<std::size_t>(p.x - first) + 1];
  for (std::size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
  std::vector<Probe> sorted(probes.size());
  for (const Probe& p : probes) sorted[start[static_cast<std::size_t>(p.x - first)]++] = p;
  probes.swap(sorted);
}

// Answers every probe of a row in one sweep over its runs, keeping C_s and P_s for all sources, and adds
// them to the per-step pairs: O(runs + probes * W). A probe at x weighs C_s(x) by A = coef_c + coef_d (x-1)
// and P_s(x) by B = -coef_d. Terms can pass 2^63 on the way (the totals fit): unsigned arithmetic wraps
// and stays exact.
void answer_probes(std::vector<Probe>& probes, const RowLayout& layout, WorkAccount& account) {
  sort_probes(probes);
  using U = std::uint64_t;
  const std::int64_t w = layout.world_size();
  const auto ws = static_cast<std::size_t>(w);
  const std::int64_t n = layout.shard_len();
  std::vector<U> count(ws, 0), pos_sum(ws, 0), pairs(ws * ws, 0);  // pairs[rank * W + source]
  const auto series = [](std::int64_t first, std::int64_t len) { return static_cast<U>(len * (2 * first + len - 1) / 2); };
  const auto& runs = layout.runs();
  std::size_t k = 0;
  for (std::size_t i = 0; i < probes.size();) {
    // Merge the probes of one rank at one position.
    const std::int64_t x = probes[i].x;
    const std::int64_t rank = probes[i].rank;
    U a = 0, b = 0;
    for (; i < probes.size() && probes[i].x == x && probes[i].rank == rank; ++i) {
      const Probe& p = probes[i];
      a += static_cast<U>(p.coef_c) + static_cast<U>(p.coef_d) * static_cast<U>(x - 1);
      b -= static_cast<U>(p.coef_d);
    }
    for (; k < runs.size() && runs[k].position + runs[k].length <= x; ++k) {
      const auto s = static_cast<std::size_t>(runs[k].slot / n);
      count[s] += static_cast<U>(runs[k].length);
      pos_sum[s] += series(runs[k].position, runs[k].length);
    }
    U* row = &pairs[static_cast<std::size_t>(rank) * ws];
    if (b == 0 && a == 1) {  // the upper bound of one query, the commonest probe of token-level layouts
      for (std::size_t s = 0; s < ws; ++s) row[s] += count[s];
    } else if (b == 0) {  // a stretch's fixed bound: no position sums
      for (std::size_t s = 0; s < ws; ++s) row[s] += a * count[s];
    } else {
      for (std::size_t s = 0; s < ws; ++s) row[s] += a * count[s] + b * pos_sum[s];
    }
    if (k < runs.size() && runs[k].position < x) {  // the run holding x adds its keys before x
      const std::int64_t m = x - runs[k].position;
      row[static_cast<std::size_t>(runs[k].slot / n)] += a * static_cast<U>(m) + b * series(runs[k].position, m);
    }
  }
  for (std::int64_t r = 0; r < w; ++r) {
    for (std::int64_t s = 0; s < w; ++s) {
      account.step_pairs(r, (r - s + w) % w) += static_cast<std::int64_t>(pairs[static_cast<std::size_t>(r * w + s)]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tiles. For a Q tile, U is the union of its queries' key intervals and F = [max lo, min hi] the keys
// every query sees. A KV tile is non-empty iff it holds a key in U, and full iff all its keys lie in F.
// When U starts at position 0 (causal, full and prefix kinds) both are counts over per-source sorted
// min/max key positions: O(W log) per Q tile. Otherwise U is bounded by documents or windows and we
// visit its position runs, stamping the KV tiles they fall in; or, for a layout whose shards hold their
// positions in ascending order (striping, head-tail, contiguous, PTRR) and whose runs are short, we count
// per source the keys below each interval end (C_s(x)) from a table of positions: those keys fill a
// contiguous range of the source's slots, so the tiles they touch or fill follow by arithmetic.
class RowTiles {
 public:
  RowTiles(const RowLayout& layout, std::int64_t tile, bool position_table) : layout_(layout), tile_(tile), n_(layout.shard_len()),
      w_(layout.world_size()), tiles_per_shard_((n_ + tile - 1) / tile) {
    if (position_table) {
      counts_.emplace(layout);
      below_lo_.resize(static_cast<std::size_t>(w_));
      below_hi_.resize(static_cast<std::size_t>(w_));
      last_column_.resize(static_cast<std::size_t>(w_));
    }
    const auto cells = static_cast<std::size_t>(w_ * tiles_per_shard_);
    touched_stamp_.assign(cells, -1);
    covered_stamp_.assign(cells, -1);
    covered_count_.assign(cells, 0);
    nonempty_.assign(static_cast<std::size_t>(w_), 0);
    full_.assign(static_cast<std::size_t>(w_), 0);
    while ((std::int64_t{1} << tile_shift_) < tile_) ++tile_shift_;
    if ((std::int64_t{1} << tile_shift_) != tile_) tile_shift_ = -1;
    run_source_.reserve(layout.runs().size());
    for (const Run& run : layout.runs()) run_source_.push_back(static_cast<std::int32_t>(run.slot / n_));
    // Smallest and largest key position of every KV tile, sorted per source.
    min_pos_.assign(static_cast<std::size_t>(w_), {});
    max_pos_.assign(static_cast<std::size_t>(w_), {});
    const auto& rearrange = layout.rearrange();
    for (std::int64_t s = 0; s < w_; ++s) {
      for (std::int64_t j = 0; j < tiles_per_shard_; ++j) {
        std::int64_t lo = std::numeric_limits<std::int64_t>::max();
        std::int64_t hi = -1;
        for (std::int64_t slot = s * n_ + j * tile_; slot < s * n_ + std::min(n_, (j + 1) * tile_); ++slot) {
          lo = std::min(lo, rearrange[static_cast<std::size_t>(slot)]);
          hi = std::max(hi, rearrange[static_cast<std::size_t>(slot)]);
        }
        min_pos_[static_cast<std::size_t>(s)].push_back(lo);
        max_pos_[static_cast<std::size_t>(s)].push_back(hi);
      }
      std::sort(min_pos_[static_cast<std::size_t>(s)].begin(), min_pos_[static_cast<std::size_t>(s)].end());
      std::sort(max_pos_[static_cast<std::size_t>(s)].begin(), max_pos_[static_cast<std::size_t>(s)].end());
    }
  }

  // `reaches` are the key intervals of the Q tile's stretches; `all_lo..all_hi` is F.
  void account(std::int64_t rank, std::vector<KeyInterval>& reaches, std::int64_t all_lo, std::int64_t all_hi,
               WorkAccount& account) {
    ++stamp_;
    std::fill(nonempty_.begin(), nonempty_.end(), 0);
    std::fill(full_.begin(), full_.end(), 0);
    std::vector<KeyInterval>& merged = merged_;  // reused: one per Q tile would be an allocation each
    merge_intervals(reaches, merged);
    if (merged.size() == 1 && merged[0].lo == 0) {
      for (std::size_t s = 0; s < nonempty_.size(); ++s) nonempty_[s] = count_at_most(min_pos_[s], merged[0].hi);
    } else if (counts_) {
      // Disjoint ascending intervals take ascending slot ranges of each source: only a boundary tile can be
      // shared by two of them.
      std::fill(last_column_.begin(), last_column_.end(), -1);
      for (const KeyInterval& u : merged) {
        counts_->below(u.lo, below_lo_);
        counts_->below(u.hi + 1, below_hi_);
        for (std::size_t s = 0; s < nonempty_.size(); ++s) {
          if (below_hi_[s] == below_lo_[s]) continue;
          const std::int64_t first = column(below_lo_[s]), last = column(below_hi_[s] - 1);
          nonempty_[s] += last - first + 1 - (first == last_column_[s] ? 1 : 0);
          last_column_[s] = last;
        }
      }
    } else {
      for (const KeyInterval& u : merged) visit_runs(u.lo, u.hi, [&](std::int64_t s, std::int64_t x, std::int64_t y) { touch(s, x, y); });
    }
    if (all_lo <= all_hi) {
      if (all_lo == 0) {
        for (std::size_t s = 0; s < full_.size(); ++s) full_[s] = count_at_most(max_pos_[s], all_hi);
      } else if (counts_) {
        // Tiles whose slots all lie in the source's range [a, b) of keys in F (the last tile may be short).
        counts_->below(all_lo, below_lo_);
        counts_->below(all_hi + 1, below_hi_);
        for (std::size_t s = 0; s < full_.size(); ++s) {
          const std::int64_t a = below_lo_[s], b = below_hi_[s];
          if (b <= a) continue;
          const std::int64_t first = (a + tile_ - 1) / tile_;
          const std::int64_t last = b == n_ ? tiles_per_shard_ - 1 : b / tile_ - 1;
          full_[s] = std::max<std::int64_t>(0, last - first + 1);
        }
      } else {
        visit_runs(all_lo, all_hi, [&](std::int64_t s, std::int64_t x, std::int64_t y) { cover(s, x, y); });
      }
    }
    std::int64_t row_tiles = 0;
    for (std::int64_t s = 0; s < w_; ++s) {
      const std::int64_t step = (rank - s + w_) % w_;
      TileCounts& t = account.step_tiles(rank, step);
      t.full += full_[static_cast<std::size_t>(s)];
      t.partial += nonempty_[static_cast<std::size_t>(s)] - full_[static_cast<std::size_t>(s)];
      account.step_rows(rank, step).add(nonempty_[static_cast<std::size_t>(s)]);
      row_tiles += nonempty_[static_cast<std::size_t>(s)];
    }
    account.rank_rows(rank).add(row_tiles);
  }

 private:
  static std::int64_t count_at_most(const std::vector<std::int64_t>& sorted, std::int64_t v) {
    return std::upper_bound(sorted.begin(), sorted.end(), v) - sorted.begin();
  }

  // Calls f(source, first slot, end slot) for the slots holding positions [lo, hi], run by run.
  template <typename F>
  void visit_runs(std::int64_t lo, std::int64_t hi, F&& f) const {
    const auto& runs = layout_.runs();
    for (std::size_t k = layout_.first_run_reaching(lo); k < runs.size() && runs[k].position <= hi; ++k) {
      const Run& run = runs[k];
      const std::int64_t c = std::max(run.position, lo);
      const std::int64_t d = std::min(run.position + run.length - 1, hi);
      const std::int64_t x = run.slot + (c - run.position);
      f(run_source_[k], x, x + (d - c + 1));
    }
  }

  // Tile column of a slot offset inside its shard (a shift when T is a power of two, as it usually is).
  std::int64_t column(std::int64_t local_slot) const {
    return tile_shift_ >= 0 ? local_slot >> tile_shift_ : local_slot / tile_;
  }

  std::int64_t cell_size(std::int64_t j) const { return std::min(tile_, n_ - j * tile_); }

  void touch(std::int64_t source, std::int64_t x, std::int64_t y) {
    const std::int64_t base = source * n_;
    for (std::int64_t j = column(x - base); j <= column(y - 1 - base); ++j) {
      auto& stamp = touched_stamp_[static_cast<std::size_t>(source * tiles_per_shard_ + j)];
      if (stamp != stamp_) {
        stamp = stamp_;
        ++nonempty_[static_cast<std::size_t>(source)];
      }
    }
  }

  void cover(std::int64_t source, std::int64_t x, std::int64_t y) {
    const std::int64_t base = source * n_;
    for (std::int64_t j = column(x - base); j <= column(y - 1 - base); ++j) {
      const auto cell = static_cast<std::size_t>(source * tiles_per_shard_ + j);
      const std::int64_t cell_begin = base + j * tile_;
      if (covered_stamp_[cell] != stamp_) {
        covered_stamp_[cell] = stamp_;
        covered_count_[cell] = 0;
      }
      covered_count_[cell] += std::min(y, cell_begin + cell_size(j)) - std::max(x, cell_begin);
      if (covered_count_[cell] == cell_size(j)) ++full_[static_cast<std::size_t>(source)];
    }
  }

  const RowLayout& layout_;
  std::int64_t tile_;
  std::int64_t n_;
  std::int64_t w_;
  std::int64_t tiles_per_shard_;
  int tile_shift_ = 0;
  std::int64_t stamp_ = 0;
  std::vector<std::int32_t> run_source_;
  std::vector<std::int64_t> touched_stamp_, covered_stamp_, covered_count_;
  std::vector<std::int64_t> nonempty_, full_;
  std::vector<std::vector<std::int64_t>> min_pos_, max_pos_;
  std::vector<KeyInterval> merged_;
  std::optional<SourceCounts> counts_;  // the position table, when used
  std::vector<std::int64_t> below_lo_, below_hi_, last_column_;
};

// Whether every shard holds its positions in ascending slot order (then a key's slot within its source
// is the count of the source's keys before it).
bool shards_ascend(const RowLayout& layout) {
  const auto& re = layout.rearrange();
  const auto n = static_cast<std::size_t>(layout.shard_len());
  for (std::size_t shard = 0; shard < re.size(); shard += n) {
    if (!std::is_sorted(re.begin() + static_cast<std::ptrdiff_t>(shard), re.begin() + static_cast<std::ptrdiff_t>(shard + n))) return false;
  }
  return true;
}

// Walks every rank's Q tiles, cuts them into stretches (consecutive positions, one mask segment),
// and feeds the pair probes and the tile classifier.
void account_row(const RowLayout& layout, const RowMask& mask, std::int64_t tile, TileMethod method, WorkAccount& account) {
  const std::int64_t n = layout.shard_len();
  const std::int64_t tiles_per_shard = (n + tile - 1) / tile;
  const bool short_runs = static_cast<std::int64_t>(layout.runs().size()) * tile > layout.seq_len();
  const bool table = method != TileMethod::kRuns && (method == TileMethod::kPositionTable || short_runs) && shards_ascend(layout);
  RowTiles tiles(layout, tile, table);
  const auto& runs = layout.runs();
  const auto& order = layout.runs_in_slot_order();
  ProbeList probes;
  probes.probes.reserve(runs.size() + 16);  // about one per run at least; token-level layouts have one run per token
  std::vector<KeyInterval> reaches;
  // The segment holding a position: consecutive stretches are usually in the same or the next segment (a
  // token-level layout asks a million times), so look there before searching.
  const auto& segments = mask.segments();
  std::size_t seg = 0;
  const auto segment_at = [&](std::int64_t a) -> const RowMask::Segment& {
    if (a < segments[seg].begin || a >= segments[seg].end) {
      seg = (seg + 1 < segments.size() && a >= segments[seg + 1].begin && a < segments[seg + 1].end) ? seg + 1 : mask.segment_of(a);
    }
    return segments[seg];
  };
  for (std::int64_t rank = 0; rank < layout.world_size(); ++rank) {
    for (std::int64_t q_tile = 0; q_tile < tiles_per_shard; ++q_tile) {
      reaches.clear();
      std::int64_t all_lo = std::numeric_limits<std::int64_t>::min();
      std::int64_t all_hi = std::numeric_limits<std::int64_t>::max();
      const std::int64_t slot_begin = rank * n + q_tile * tile;
      const std::int64_t slot_end = std::min(slot_begin + tile, (rank + 1) * n);
      for (std::size_t i = layout.slot_order_index(slot_begin); i < order.size(); ++i) {
        const Run& run = runs[static_cast<std::size_t>(order[i])];
        if (run.slot >= slot_end) break;
        std::int64_t a = run.position + (std::max(run.slot, slot_begin) - run.slot);
        const std::int64_t end = run.position + (std::min(run.slot + run.length, slot_end) - run.slot);
        while (a < end) {
          const auto& segment = segment_at(a);
          const std::int64_t b = std::min(end, segment.end) - 1;
          const KeyInterval first = segment.rule.at(a);
          const KeyInterval last = segment.rule.at(b);
          reaches.push_back({first.lo, last.hi});
          all_lo = std::max(all_lo, last.lo);
          all_hi = std::min(all_hi, first.hi);
          add_stretch_probes(rank, a, b, segment.rule, probes);
          a = b + 1;
        }
      }
      tiles.account(rank, reaches, all_lo, all_hi, account);
    }
  }
  answer_probes(probes.probes, layout, account);
}

}  // namespace

double WorkAccount::pair_imbalance() const {
  return max_over_mean(world_size_, [&](std::int64_t r) { return rank_pairs(r); });
}

double WorkAccount::tile_imbalance() const {
  return max_over_mean(world_size_, [&](std::int64_t r) { return rank_tiles(r).nonempty(); });
}

WorkAccount account_work(const Workload& workload, const std::vector<RowLayout>& layouts, std::int64_t tile_size,
                         TileMethod method) {
  assert(!layouts.empty() && layouts.size() == workload.documents.size());
  const std::int64_t w = layouts.front().world_size();
  const std::int64_t n = layouts.front().shard_len();
  WorkAccount account(w, tile_size, (n + tile_size - 1) / tile_size);
  for (std::size_t row = 0; row < layouts.size(); ++row) {
    const RowMask mask(workload.mask, workload.seq_len, workload.documents[row]);
    account_row(layouts[row], mask, tile_size, method, account);
    ++account.rows_accounted;
  }
  return account;
}

}  // namespace cpsim
