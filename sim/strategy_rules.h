// Which strategies exist (every path with each rotate method it takes), which of them can run a plan, and the
// kernels a path can call on a profile.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/plan.h"
#include "core/strategy.h"
#include "sim/hardware.h"

namespace cpsim {

// The (path, rotate) pairs that exist for `balancer`, in the order compare lists them, without Ulysses and with
// the sparse gather's stage count left to the simulator.
std::vector<Strategy> ring_strategies(const std::string& balancer);

// The SDPA ring where PyTorch can run the plan with that rotate method; otherwise the block-sparse path of it.
AttentionPath default_path(const Plan& plan, RotateMethod rotate);

// Why `strategy` cannot run `plan` (what PyTorch would say, or which cpsim limit it breaks), or nothing.
std::optional<std::string> unsupported_reason(const Plan& plan, const Strategy& strategy);

// The kernels of `profile` that `path` accepts, in profile order (the first is the path's default).
std::vector<const KernelSpec*> path_kernels(const HardwareProfile& profile, AttentionPath path);
// The kernel `strategy` runs on `profile`: the one it names, or its path's default; otherwise why not (a kernel the
// profile lacks, or one the path cannot call).
Result<const KernelSpec*> strategy_kernel(const HardwareProfile& profile, const Strategy& strategy);

}  // namespace cpsim
