// Chrome trace JSON (opens in Perfetto and chrome://tracing): one process per rank, compute and
// communication on separate tracks, one complete event per op.
#pragma once

#include <string>

#include "sim/simulate.h"

namespace cpsim {

std::string chrome_trace_json(const Simulation& sim, const std::string& title);

}  // namespace cpsim
