// Who can run a strategy today: PyTorch's CP as shipped, cpsim's own executors, or nobody (simulated only).
// compare, batch, sweep and plan use it so that a recommendation names something users can run.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/strategy.h"
#include "sim/hardware.h"

namespace cpsim {

enum class Runtime { kPyTorch, kCpsim, kSimulated };
std::string_view runtime_name(Runtime r);  // "pytorch", "cpsim", "simulated"
std::optional<Runtime> parse_runtime(std::string_view name);
// The `--runtime` flag's value: pytorch or cpsim, or any (no filter); anything else is a bad-input error.
Result<std::optional<Runtime>> parse_runtime_filter(std::string_view text);

struct RuntimeInfo {
  Runtime runtime = Runtime::kSimulated;
  std::string how;  // one phrase: how to run it, or why nothing runs it
};

// `strategy` (with its kernel resolved) on `profile`:
//  - pytorch: PyTorch CP's own paths (the SDPA ring on an SDPA backend, FlexAttention all-gather) without Ulysses;
//    PyTorch's balancers natively, any other balancer's indices through a _LoadBalancer (cpsim.torch, python/cpsim/torch.py),
//    which _context_parallel_shard accepts;
//  - cpsim: `cpsim execute` runs it as simulated: on a GPU profile the block-sparse ring on cpsim's kernel (CUDA,
//    NCCL between GPUs); on a CPU profile every path without Ulysses (threads, MPI);
//  - simulated: everything else (Ulysses, the block-sparse paths on FlexAttention, the sparse gather on a GPU).
RuntimeInfo runtime_of(const Strategy& strategy, const HardwareProfile& profile, bool pytorch_balancer);

}  // namespace cpsim
