// The colour values behind palette.h.
#include "gui/app/palette.h"

#include <algorithm>

namespace cpsim::gui {

QColor rank_color(int rank, int ranks) {
  const int hue = static_cast<int>(360.0 * rank / std::max(1, ranks)) % 360;
  return QColor::fromHsl(hue, 170, rank % 2 == 0 ? 120 : 160);
}

QColor forward_color() { return {45, 105, 185}; }
QColor backward_color() { return {125, 80, 175}; }
QColor comm_color() { return {235, 140, 40}; }
QColor idle_color() { return {246, 246, 246}; }

QColor full_tile_color() { return {40, 110, 60}; }
QColor partial_tile_color() { return {150, 205, 150}; }

QColor step_color(int step, int steps) {
  // 50 (near black) to 210 (light grey): the lightest still stands out on a white chart.
  const int v = steps <= 1 ? 90 : 50 + 160 * step / (steps - 1);
  return {v, v, v};
}

}  // namespace cpsim::gui
