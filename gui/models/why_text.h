// The lines under the comparison table, as `cpsim compare` prints them after its table: the winner and why,
// then the best plan PyTorch can run (and cpsim execute, when that is another one) and PyTorch as shipped.
#pragma once

#include <string>
#include <vector>

#include "sim/compare.h"

namespace cpsim::gui {

std::string winner_line(const Comparison& comparison);
std::vector<std::string> runtime_lines(const Comparison& comparison);

}  // namespace cpsim::gui
