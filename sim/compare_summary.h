// The lines users act on under a ranking (compare prints them, the GUI shows them): the best plan PyTorch runs and
// what the winner gains over it, the best cpsim execute runs, and PyTorch as shipped.
#pragma once

#include <string>
#include <vector>

#include "sim/compare.h"

namespace cpsim {

std::vector<std::string> runtime_summary(const Comparison& comparison);

}  // namespace cpsim
