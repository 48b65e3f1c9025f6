// Mask rasters: for each query cell, the union of its queries' key intervals, mapped to key cells through
// the layout's runs (rearranged order) or directly (original order).
#include "gui/models/mask_raster.h"

#include <algorithm>
#include <sstream>

#include "core/mask.h"

namespace cpsim::gui {
namespace {

// Key intervals of the queries at `positions`, merged.
std::vector<KeyInterval> reach_of(const RowMask& mask, std::vector<std::int64_t> positions) {
  std::sort(positions.begin(), positions.end());
  std::vector<KeyInterval> out;
  for (std::size_t i = 0; i < positions.size();) {
    // A stretch of consecutive positions in one segment sees [lo(first), hi(last)].
    const auto seg = mask.segments()[mask.segment_of(positions[i])];
    std::size_t j = i;
    while (j + 1 < positions.size() && positions[j + 1] == positions[j] + 1 && positions[j + 1] < seg.end) ++j;
    out.push_back({seg.rule.at(positions[i]).lo, seg.rule.at(positions[j]).hi});
    i = j + 1;
  }
  std::vector<KeyInterval> merged;
  merge_intervals(out, merged);
  return merged;
}

std::vector<std::int64_t> cell_positions(const RowLayout& layout, const MaskRaster& r, std::int64_t origin, int cell) {
  const std::int64_t s = layout.seq_len();
  const std::int64_t first = origin + cell * r.tokens_per_cell, last = std::min(s, first + r.tokens_per_cell);
  std::vector<std::int64_t> out;
  for (std::int64_t i = first; i < last; ++i) out.push_back(r.rearranged ? layout.rearrange()[static_cast<std::size_t>(i)] : i);
  return out;
}

}  // namespace

MaskRaster make_mask_raster(const Plan& plan, std::int64_t batch_row, int max_cells, bool rearranged) {
  return make_mask_raster_window(plan, batch_row, max_cells, rearranged, 0, 0, plan.workload.seq_len);
}

MaskRaster make_mask_raster_window(const Plan& plan, std::int64_t batch_row, int max_cells, bool rearranged, std::int64_t q_origin,
                                   std::int64_t k_origin, std::int64_t span) {
  const RowLayout& layout = plan.layouts.at(static_cast<std::size_t>(batch_row));
  const RowMask mask(plan.workload.mask, plan.workload.seq_len, plan.workload.documents[static_cast<std::size_t>(batch_row)]);
  const std::int64_t s = plan.workload.seq_len;
  MaskRaster r;
  r.rearranged = rearranged;
  r.batch_row = batch_row;
  r.span = std::clamp<std::int64_t>(span, 1, s);
  r.q_origin = std::clamp<std::int64_t>(q_origin, 0, s - r.span);
  r.k_origin = std::clamp<std::int64_t>(k_origin, 0, s - r.span);
  // Whole tiles per cell: a cell's kind (full, partial, empty) then means what the kernel sees.
  const std::int64_t block = std::max<std::int64_t>(1, plan.block_size);
  const std::int64_t wanted = (r.span + max_cells - 1) / max_cells;
  r.tokens_per_cell = std::max<std::int64_t>(1, (wanted + block - 1) / block) * block;
  r.cells = static_cast<int>((r.span + r.tokens_per_cell - 1) / r.tokens_per_cell);
  r.owner.assign(static_cast<std::size_t>(r.cells) * static_cast<std::size_t>(r.cells), -1);
  const auto& runs = layout.runs();
  // Key token t (slot or position) lands in column (t - k_origin) / tokens_per_cell when inside the window.
  const std::int64_t k_end = r.k_origin + static_cast<std::int64_t>(r.cells) * r.tokens_per_cell;
  auto fill = [&](std::int16_t* row, std::int64_t first, std::int64_t last, std::int16_t rank) {
    first = std::max(first, r.k_origin);
    last = std::min(last, k_end - 1);
    if (first > last) return;
    std::fill(row + (first - r.k_origin) / r.tokens_per_cell, row + (last - r.k_origin) / r.tokens_per_cell + 1, rank);
  };
  for (int q = 0; q < r.cells; ++q) {
    const std::vector<std::int64_t> positions = cell_positions(layout, r, r.q_origin, q);
    if (positions.empty()) continue;
    const auto rank = static_cast<std::int16_t>(rearranged ? (r.q_origin + q * r.tokens_per_cell) / layout.shard_len()
                                                           : layout.rank_of_position(positions.front()));
    std::int16_t* row = &r.owner[static_cast<std::size_t>(q) * static_cast<std::size_t>(r.cells)];
    for (const KeyInterval& iv : reach_of(mask, positions)) {
      if (!rearranged) {
        fill(row, iv.lo, iv.hi, rank);
        continue;
      }
      for (std::size_t k = layout.first_run_reaching(iv.lo); k < runs.size() && runs[k].position <= iv.hi; ++k) {
        const std::int64_t c = std::max(runs[k].position, iv.lo), d = std::min(runs[k].position + runs[k].length - 1, iv.hi);
        const std::int64_t x = runs[k].slot + (c - runs[k].position), y = x + (d - c);
        fill(row, x, y, rank);
      }
    }
  }
  return r;
}

CellInfo describe_cell(const Plan& plan, const MaskRaster& r, int q_cell, int k_cell) {
  const RowLayout& layout = plan.layouts.at(static_cast<std::size_t>(r.batch_row));
  const auto& docs = plan.workload.documents[static_cast<std::size_t>(r.batch_row)];
  const RowMask mask(plan.workload.mask, plan.workload.seq_len, docs);
  CellInfo info;
  const std::int64_t s = plan.workload.seq_len;
  info.q_first = r.q_origin + q_cell * r.tokens_per_cell;
  info.q_last = std::min(s, info.q_first + r.tokens_per_cell) - 1;
  info.k_first = r.k_origin + k_cell * r.tokens_per_cell;
  info.k_last = std::min(s, info.k_first + r.tokens_per_cell) - 1;
  std::vector<std::int64_t> keys = cell_positions(layout, r, r.k_origin, k_cell);
  std::sort(keys.begin(), keys.end());
  const std::vector<std::int64_t> queries = cell_positions(layout, r, r.q_origin, q_cell);
  info.rank = r.rearranged ? info.q_first / layout.shard_len() : layout.rank_of_position(queries.front());
  std::vector<std::int64_t> doc_starts;  // document d covers [doc_starts[d], doc_starts[d+1])
  std::int64_t start = 0;
  for (const std::int64_t len : docs) {
    doc_starts.push_back(start);
    start += len;
  }
  for (const std::int64_t q : queries) {
    const KeyInterval iv = mask.interval(q);
    info.pairs += std::upper_bound(keys.begin(), keys.end(), iv.hi) - std::lower_bound(keys.begin(), keys.end(), iv.lo);
    info.documents.push_back(std::upper_bound(doc_starts.begin(), doc_starts.end(), q) - doc_starts.begin() - 1);
  }
  info.tiles_per_side = std::max<std::int64_t>(1, r.tokens_per_cell / std::max<std::int64_t>(1, plan.block_size));
  std::sort(info.documents.begin(), info.documents.end());
  info.documents.erase(std::unique(info.documents.begin(), info.documents.end()), info.documents.end());
  return info;
}

std::string describe_cell_text(const CellInfo& i, bool rearranged) {
  std::ostringstream out;
  const char* unit = rearranged ? "slots" : "positions";
  out << "queries: " << unit << " " << i.q_first << "-" << i.q_last << " (rank " << i.rank << ")\n"
      << "keys: " << unit << " " << i.k_first << "-" << i.k_last << "\n"
      << "visible pairs: " << i.pairs << " of " << (i.q_last - i.q_first + 1) * (i.k_last - i.k_first + 1) << "\n";
  const std::int64_t all = (i.q_last - i.q_first + 1) * (i.k_last - i.k_first + 1);
  if (i.tiles_per_side == 1) {
    out << "tile: " << (i.pairs == 0 ? "empty (skipped)" : i.pairs == all ? "full (no masking)" : "partial (masked per element)") << "\n";
  } else {
    out << "cell: " << i.tiles_per_side << " x " << i.tiles_per_side << " tiles (zoom in for single tiles)\n";
  }
  out << "documents of the queries: ";
  for (std::size_t d = 0; d < i.documents.size() && d < 12; ++d) out << (d ? ", " : "") << i.documents[d];
  if (i.documents.size() > 12) out << ", ... (" << i.documents.size() << ")";
  return out.str();
}

}  // namespace cpsim::gui
