// What a prediction is worth, said under every prediction plan, simulate and compare print: how well the
// profile reproduces published measurements (cpsim validate's check split), and whether the kernel's constants
// were ever measured. Also the one way --kernel joins a strategy.
#pragma once

#include <string>

#include "core/strategy.h"
#include "sim/hardware.h"

namespace cpsim::cli {

// "model error on h100-sxm-8x: median 3.1%, p90 9.0% over 135 published measurements it was not fitted to
// (cpsim validate --hardware h100-sxm-8x)", or that the profile was never validated.
std::string fidelity_line(const HardwareProfile& hw);
// A second line when `kernel`'s constants are all estimates; empty otherwise.
std::string kernel_note(const HardwareProfile& hw, const std::string& kernel);

// --kernel NAME into a strategy: sets it, or fails when the strategy already names another.
Status apply_kernel_flag(Strategy& s, const std::string& kernel);

}  // namespace cpsim::cli
