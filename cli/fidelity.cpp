// The model-error and estimate lines of predictions, and --kernel.
#include "cli/fidelity.h"

#include "cli/table.h"

namespace cpsim::cli {

std::string fidelity_line(const HardwareProfile& hw) {
  if (!hw.model_error && hw.kernels_model_error) {
    const ModelError& e = *hw.kernels_model_error;
    return "model error on " + hw.name + ": its kernels are " + hw.kernels_from + "'s, which reproduce " + std::to_string(e.points) +
           " published measurements with median error " + percent(e.median) + " (p90 " + percent(e.p90) + ", " + e.command +
           "); its own links are not validated";
  }
  if (!hw.model_error) {
    return "model error on " + hw.name + ": not validated against published measurements (no model_error in " + hw.source +
           "); treat differences of a few percent as ties";
  }
  const ModelError& e = *hw.model_error;
  return "model error on " + hw.name + ": median " + percent(e.median) + ", p90 " + percent(e.p90) + " over " + std::to_string(e.points) +
         " published measurements it was not fitted to (" + (e.command.empty() ? "cpsim validate --hardware " + hw.name : e.command) + ")";
}

std::string kernel_note(const HardwareProfile& hw, const std::string& kernel) {
  const KernelSpec* k = hw.kernel(kernel);
  if (k == nullptr || !k->estimated()) return "";
  return "kernel " + k->name + ": every constant is an estimate (nothing measured it yet); its times are guesses";
}

Status apply_kernel_flag(Strategy& s, const std::string& kernel) {
  if (kernel.empty()) return Ok{};
  if (!s.kernel.empty() && s.kernel != kernel) {
    return bad_input("--kernel: " + kernel + " differs from the kernel of --strategy (" + s.kernel + "); give one of them");
  }
  s.kernel = kernel;
  return Ok{};
}

}  // namespace cpsim::cli
