// Prints an Explanation (sim/explain.h): the step time over the lower bound, part by part, with bars.
#pragma once

#include <string>

#include "sim/explain.h"

namespace cpsim::cli {

std::string explanation_text(const Explanation& e);

}  // namespace cpsim::cli
