// Which GPU a process drives when mpirun starts one process per rank, and the check that no two ranks share
// one (no CUDA header: tested on the CPU).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace cpsim {

// The process's index among the job's processes on its machine, modulo the GPUs it sees: 8 processes on a
// node with 8 GPUs take one each; a launcher that shows each process only its own GPU gives device 0.
int gpu_for_process(std::int64_t local_rank, int gpus);

// NCCL does not support two ranks of one communicator on one GPU (it may hang), so the job is refused when two
// ranks chose the same device. `gpu_per_rank`: each rank's GPU, by UUID and name, in rank order.
Status check_one_gpu_per_rank(const std::vector<std::string>& gpu_per_rank);

}  // namespace cpsim
