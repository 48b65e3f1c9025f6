// Work accounting: for a layout, the useful (q, k) pairs and the full/partial tiles of every rank's Q shard
// against the KV shard of every source rank. Ring step i of rank r holds source (r - i) mod W; the
// all-gather (flex) view of a rank is the sum over its steps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "layout.h"
#include "limits.h"
#include "workload.h"

namespace cpsim {

// Ranks above this make per-(rank, step) tables too large to be useful (W^2 entries).

// The ring's source: at step i rank r holds the K/V of rank (r - i) mod W.
inline std::int64_t ring_source(std::int64_t rank, std::int64_t step, std::int64_t world_size) {
  return ((rank - step) % world_size + world_size) % world_size;
}

struct TileCounts {
  std::int64_t full = 0;     // every (q, k) pair visible: runs unmasked
  std::int64_t partial = 0;  // some pairs visible: runs with the mask applied per element
  std::int64_t nonempty() const { return full + partial; }
  TileCounts& operator+=(const TileCounts& o) {
    full += o.full;
    partial += o.partial;
    return *this;
  }
};

// How a kernel call's work spreads over Q tile rows (one CTA per Q tile row and head): the rows that have
// any non-empty tile, and the most non-empty tiles in one row (the longest CTA).
struct RowStats {
  std::int64_t active_rows = 0;
  std::int64_t max_row_tiles = 0;
  void add(std::int64_t row_tiles) {
    if (row_tiles > 0) ++active_rows;
    max_row_tiles = std::max(max_row_tiles, row_tiles);
  }
};

// Tiles are T x T blocks of a rank's local Q order against a source's local KV order; they never straddle
// a shard boundary. When (S/W) % T == 0, as FlexAttention CP requires, this equals flex's global 128x128
// tiling of the gathered KV.
class WorkAccount {
 public:
  WorkAccount(std::int64_t world_size, std::int64_t tile_size, std::int64_t tiles_per_shard);

  std::int64_t world_size() const { return world_size_; }
  std::int64_t tile_size() const { return tile_size_; }
  // Tile rows (and tile columns) per shard: ceil((S/W) / T). Each (rank, step) has this squared tiles,
  // times the batch rows.
  std::int64_t tiles_per_shard() const { return tiles_per_shard_; }

  std::int64_t& step_pairs(std::int64_t rank, std::int64_t step) { return pairs_[index(rank, step)]; }
  std::int64_t step_pairs(std::int64_t rank, std::int64_t step) const { return pairs_[index(rank, step)]; }
  TileCounts& step_tiles(std::int64_t rank, std::int64_t step) { return tiles_[index(rank, step)]; }
  const TileCounts& step_tiles(std::int64_t rank, std::int64_t step) const { return tiles_[index(rank, step)]; }

  RowStats& step_rows(std::int64_t rank, std::int64_t step) { return step_rows_[index(rank, step)]; }
  const RowStats& step_rows(std::int64_t rank, std::int64_t step) const { return step_rows_[index(rank, step)]; }
  // Q tile rows against the whole KV (the all-gather view: one kernel call per rank).
  RowStats& rank_rows(std::int64_t rank) { return rank_rows_[static_cast<std::size_t>(rank)]; }
  const RowStats& rank_rows(std::int64_t rank) const { return rank_rows_[static_cast<std::size_t>(rank)]; }

  std::int64_t rank_pairs(std::int64_t rank) const;
  TileCounts rank_tiles(std::int64_t rank) const;
  std::int64_t total_pairs() const;
  TileCounts total_tiles() const;

  // max/mean over ranks (1.0 is perfect balance; 0 work everywhere counts as balanced).
  double pair_imbalance() const;
  double tile_imbalance() const;  // of non-empty tiles

  std::int64_t rows_accounted = 0;

 private:
  std::size_t index(std::int64_t rank, std::int64_t step) const {
    return static_cast<std::size_t>(rank * world_size_ + step);
  }
  std::int64_t world_size_;
  std::int64_t tile_size_;
  std::int64_t tiles_per_shard_;
  std::vector<std::int64_t> pairs_;
  std::vector<TileCounts> tiles_;
  std::vector<RowStats> step_rows_;
  std::vector<RowStats> rank_rows_;
};

// How tiles are found when a Q tile's key union does not start at position 0 (documents, windows).
enum class TileMethod {
  kAuto,           // the position table for ascending layouts whose runs average under a tile, else runs
  kRuns,           // visit the key union run by run: fast when runs are long
  kPositionTable,  // per-source key counts from a table of positions: cost independent of run length;
                   // only for ascending layouts (a row whose shards are not ascending falls back to runs)
};

// Accounts every batch row of `workload` under its layout (one per row), at tile size T.
WorkAccount account_work(const Workload& workload, const std::vector<RowLayout>& layouts, std::int64_t tile_size,
                         TileMethod method = TileMethod::kAuto);

}  // namespace cpsim
