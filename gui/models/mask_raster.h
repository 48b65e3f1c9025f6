// The attention mask at tile resolution (down-sampled to at most max_cells per side for large S),
// coloured by the rank that owns each query cell, in original or rearranged (slot) order: PyTorch's
// balancer docstring pictures, for real data. Computed from key intervals and position runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/plan.h"

namespace cpsim::gui {

struct MaskRaster {
  int cells = 0;                  // the grid is cells x cells
  std::int64_t tokens_per_cell = 1;
  std::int64_t q_origin = 0, k_origin = 0;  // the slot (or position) of the first row and column: a zoomed window
  std::int64_t span = 0;                    // tokens the window covers on each axis
  bool rearranged = false;
  std::int64_t batch_row = 0;
  std::vector<std::int16_t> owner;  // [q cell * cells + k cell]: owning rank of the q cell, -1 where nothing is visible
  int at(int q, int k) const { return owner[static_cast<std::size_t>(q) * static_cast<std::size_t>(cells) + static_cast<std::size_t>(k)]; }
};

MaskRaster make_mask_raster(const Plan& plan, std::int64_t batch_row, int max_cells, bool rearranged);
// The square window of `span` tokens from (q_origin, k_origin), at most max_cells per side and never finer than a
// tile (the plan's block size): what the mask view draws when zoomed in.
MaskRaster make_mask_raster_window(const Plan& plan, std::int64_t batch_row, int max_cells, bool rearranged, std::int64_t q_origin,
                                   std::int64_t k_origin, std::int64_t span);

// What a hover shows: the cell's token ranges, its query documents, owning rank and visible pairs.
struct CellInfo {
  std::int64_t q_first = 0, q_last = 0, k_first = 0, k_last = 0;  // slots (rearranged) or positions
  std::vector<std::int64_t> documents;                            // documents of the cell's queries
  std::int64_t rank = 0;
  std::int64_t pairs = 0;
  std::int64_t tiles_per_side = 1;  // tiles of the plan's block size along one side of the cell
};
CellInfo describe_cell(const Plan& plan, const MaskRaster& raster, int q_cell, int k_cell);
std::string describe_cell_text(const CellInfo& info, bool rearranged);

}  // namespace cpsim::gui
