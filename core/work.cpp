// Work accounting by interval arithmetic over position runs. For each Q tile, every stretch of queries
// that is contiguous in original order and inside one mask segment sees one key range; the key runs in
// that range give pairs (closed form) and the KV tiles touched. Cost grows with the runs in reach, never
// with S^2.
#include "work.h"

#include <algorithm>
#include <cassert>

#include "mask.h"

namespace cpsim {

WorkAccount::WorkAccount(std::int64_t world_size, std::int64_t tile_size, std::int64_t tiles_per_shard)
    : world_size_(world_size),
      tile_size_(tile_size),
      tiles_per_shard_(tiles_per_shard),
      pairs_(static_cast<std::size_t>(world_size * world_size), 0),
      tiles_(static_cast<std::size_t>(world_size * world_size)) {}

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

// Per-row scratch: one entry per KV tile (source shard x tile column), stamped per Q tile so that
// nothing is cleared between Q tiles.
struct TileScratch {
  std::vector<std::int64_t> touched_stamp;
  std::vector<std::int64_t> covered_stamp;
  std::vector<std::int64_t> covered_count;
  std::vector<std::int64_t> nonempty_by_source;
  std::vector<std::int64_t> full_by_source;
};

class RowAccountant {
 public:
  RowAccountant(const RowLayout& layout, const RowMask& mask, std::int64_t tile, WorkAccount& account)
      : layout_(layout), mask_(mask), tile_(tile), n_(layout.shard_len()), w_(layout.world_size()),
        tiles_per_shard_((n_ + tile - 1) / tile), account_(account) {
    const auto cells = static_cast<std::size_t>(w_ * tiles_per_shard_);
    scratch_.touched_stamp.assign(cells, -1);
    scratch_.covered_stamp.assign(cells, -1);
    scratch_.covered_count.assign(cells, 0);
    scratch_.nonempty_by_source.assign(static_cast<std::size_t>(w_), 0);
    scratch_.full_by_source.assign(static_cast<std::size_t>(w_), 0);
  }

  void run() {
    for (std::int64_t r = 0; r < w_; ++r) {
      for (std::int64_t qt = 0; qt < tiles_per_shard_; ++qt) account_q_tile(r, qt);
    }
  }

 private:
  std::int64_t step_of(std::int64_t rank, std::int64_t source) const { return (rank - source + w_) % w_; }
  std::int64_t cell_size(std::int64_t j) const { return std::min(tile_, n_ - j * tile_); }

  // Marks the KV tiles that slots [x, y) of one source shard fall in as non-empty for this Q tile.
  void touch(std::int64_t source, std::int64_t x, std::int64_t y) {
    const std::int64_t base = source * n_;
    for (std::int64_t j = (x - base) / tile_; j <= (y - 1 - base) / tile_; ++j) {
      auto& stamp = scratch_.touched_stamp[static_cast<std::size_t>(source * tiles_per_shard_ + j)];
      if (stamp != stamp_) {
        stamp = stamp_;
        ++scratch_.nonempty_by_source[static_cast<std::size_t>(source)];
      }
    }
  }

  // Adds slots [x, y) to the keys every query of this Q tile sees; a KV tile whose slots are all covered is full.
  void cover(std::int64_t source, std::int64_t x, std::int64_t y) {
    const std::int64_t base = source * n_;
    for (std::int64_t j = (x - base) / tile_; j <= (y - 1 - base) / tile_; ++j) {
      const auto cell = static_cast<std::size_t>(source * tiles_per_shard_ + j);
      const std::int64_t cell_begin = base + j * tile_;
      const std::int64_t overlap = std::min(y, cell_begin + cell_size(j)) - std::max(x, cell_begin);
      if (scratch_.covered_stamp[cell] != stamp_) {
        scratch_.covered_stamp[cell] = stamp_;
        scratch_.covered_count[cell] = 0;
      }
      scratch_.covered_count[cell] += overlap;
      if (scratch_.covered_count[cell] == cell_size(j)) ++scratch_.full_by_source[static_cast<std::size_t>(source)];
    }
  }

  // Queries [a, b] (original positions, one segment, one rank) against every key run in their reach.
  void account_piece(std::int64_t rank, std::int64_t a, std::int64_t b, const IntervalRule& rule) {
    const KeyInterval first = rule.at(a);
    const KeyInterval last = rule.at(b);
    const std::int64_t reach_lo = first.lo;
    const std::int64_t reach_hi = last.hi;
    const std::int64_t all_lo = last.lo;   // keys in [all_lo, all_hi] are visible to every query of the piece
    const std::int64_t all_hi = first.hi;
    lo_max_ = std::max(lo_max_, all_lo);
    hi_min_ = std::min(hi_min_, all_hi);
    const auto& runs = layout_.runs();
    for (std::size_t k = layout_.first_run_reaching(reach_lo); k < runs.size() && runs[k].position <= reach_hi; ++k) {
      const Run& run = runs[k];
      const std::int64_t c = std::max(run.position, reach_lo);
      const std::int64_t d = std::min(run.position + run.length - 1, reach_hi);
      const std::int64_t source = run.slot / n_;
      const std::int64_t pairs = (c >= all_lo && d <= all_hi) ? (b - a + 1) * (d - c + 1)
                                                              : count_visible_pairs(rule, a, b, c, d);
      account_.step_pairs(rank, step_of(rank, source)) += pairs;
      const std::int64_t x = run.slot + (c - run.position);
      touch(source, x, x + (d - c + 1));
    }
  }

  void account_q_tile(std::int64_t rank, std::int64_t q_tile) {
    ++stamp_;
    std::fill(scratch_.nonempty_by_source.begin(), scratch_.nonempty_by_source.end(), 0);
    std::fill(scratch_.full_by_source.begin(), scratch_.full_by_source.end(), 0);
    lo_max_ = std::numeric_limits<std::int64_t>::min();
    hi_min_ = std::numeric_limits<std::int64_t>::max();

    const std::int64_t slot_begin = rank * n_ + q_tile * tile_;
    const std::int64_t slot_end = std::min(slot_begin + tile_, (rank + 1) * n_);
    const auto& runs = layout_.runs();
    const auto& order = layout_.runs_in_slot_order();
    for (std::size_t i = layout_.slot_order_index(slot_begin); i < order.size(); ++i) {
      const Run& run = runs[static_cast<std::size_t>(order[i])];
      if (run.slot >= slot_end) break;
      const std::int64_t s0 = std::max(run.slot, slot_begin);
      const std::int64_t s1 = std::min(run.slot + run.length, slot_end);
      std::int64_t a = run.position + (s0 - run.slot);
      const std::int64_t end = run.position + (s1 - run.slot);
      while (a < end) {  // split the stretch at mask segment boundaries
        const auto& segment = mask_.segments()[mask_.segment_of(a)];
        const std::int64_t b = std::min(end, segment.end) - 1;
        account_piece(rank, a, b, segment.rule);
        a = b + 1;
      }
    }
    if (lo_max_ <= hi_min_) {
      for (std::size_t k = layout_.first_run_reaching(lo_max_); k < runs.size() && runs[k].position <= hi_min_; ++k) {
        const Run& run = runs[k];
        const std::int64_t c = std::max(run.position, lo_max_);
        const std::int64_t d = std::min(run.position + run.length - 1, hi_min_);
        const std::int64_t x = run.slot + (c - run.position);
        cover(run.slot / n_, x, x + (d - c + 1));
      }
    }
    for (std::int64_t source = 0; source < w_; ++source) {
      const auto s = static_cast<std::size_t>(source);
      TileCounts& t = account_.step_tiles(rank, step_of(rank, source));
      t.full += scratch_.full_by_source[s];
      t.partial += scratch_.nonempty_by_source[s] - scratch_.full_by_source[s];
    }
  }

  const RowLayout& layout_;
  const RowMask& mask_;
  std::int64_t tile_;
  std::int64_t n_;
  std::int64_t w_;
  std::int64_t tiles_per_shard_;
  WorkAccount& account_;
  TileScratch scratch_;
  std::int64_t stamp_ = 0;
  std::int64_t lo_max_ = 0;
  std::int64_t hi_min_ = 0;
};

}  // namespace

double WorkAccount::pair_imbalance() const {
  return max_over_mean(world_size_, [&](std::int64_t r) { return rank_pairs(r); });
}

double WorkAccount::tile_imbalance() const {
  return max_over_mean(world_size_, [&](std::int64_t r) { return rank_tiles(r).nonempty(); });
}

WorkAccount account_work(const Workload& workload, const std::vector<RowLayout>& layouts, std::int64_t tile_size) {
  assert(!layouts.empty() && layouts.size() == workload.documents.size());
  const std::int64_t w = layouts.front().world_size();
  const std::int64_t n = layouts.front().shard_len();
  WorkAccount account(w, tile_size, (n + tile_size - 1) / tile_size);
  for (std::size_t row = 0; row < layouts.size(); ++row) {
    const RowMask mask(workload.mask, workload.seq_len, workload.documents[row]);
    RowAccountant(layouts[row], mask, tile_size, account).run();
    ++account.rows_accounted;
  }
  return account;
}

}  // namespace cpsim
