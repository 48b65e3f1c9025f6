// The GUI's colour families, one meaning each: rank colours (a hue wheel) only ever mean ranks; timeline
// operations, tile kinds and ring steps have palettes of their own, so blue never means two things.
#pragma once

#include <QColor>

namespace cpsim::gui {

// Ranks: evenly spaced hues, lightness alternating so neighbouring ranks stay distinct at W = 64.
QColor rank_color(int rank, int ranks);

// Timeline operations (saturated blue / violet / orange; idle is the plot's background).
QColor forward_color();
QColor backward_color();
QColor comm_color();
QColor idle_color();

// Tile kinds: two greens (no rank or operation uses a green of this lightness as its family).
QColor full_tile_color();
QColor partial_tile_color();

// Ring steps: a grey ramp, dark (step 0, the rank's own K/V) to light (step n - 1): no hue, so never a rank.
QColor step_color(int step, int steps);

}  // namespace cpsim::gui
