// Why a plan sits where it does: its step time over the lower bound, split into what the kernel, the tiles, the
// CTAs, launches and merges, the imbalance between ranks and the exposed communication add. The parts sum to the
// step time exactly (each is a difference the simulation itself computed).
#pragma once

#include <string>
#include <vector>

#include "sim/hardware.h"
#include "sim/simulate.h"

namespace cpsim {

struct ExplainPart {
  std::string name;  // "kernel efficiency", ...
  std::string what;  // one phrase on where it comes from
  double us = 0;     // its share of the step time (mean over ranks, except imbalance and exposed communication)
};

struct Explanation {
  double lower_bound_us = 0;
  double step_us = 0;
  std::vector<ExplainPart> parts;  // lower bound first; they sum to step_us
};

// `sim` must be a simulation of `plan` on `profile` (its timeline records the compute ops' parts).
Explanation explain_simulation(const Simulation& sim, const Plan& plan, const HardwareProfile& profile);

}  // namespace cpsim
