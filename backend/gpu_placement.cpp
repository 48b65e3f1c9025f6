// One GPU per MPI process (see gpu_placement.h).
#include "backend/gpu_placement.h"

#include <map>

namespace cpsim {

int gpu_for_process(std::int64_t local_rank, int gpus) { return gpus > 0 ? static_cast<int>(local_rank % gpus) : 0; }

Status check_one_gpu_per_rank(const std::vector<std::string>& gpu_per_rank) {
  std::map<std::string, std::size_t> first_rank;
  for (std::size_t r = 0; r < gpu_per_rank.size(); ++r) {
    const auto [at, fresh] = first_rank.emplace(gpu_per_rank[r], r);
    if (!fresh) {
      return bad_input("--device cuda: ranks " + std::to_string(at->second) + " and " + std::to_string(r) + " would both drive GPU " +
                       gpu_per_rank[r] + "; NCCL needs one GPU per process (start at most as many processes per machine " +
                       "as it has GPUs, or run without mpirun to emulate every rank in turn on one GPU)");
    }
  }
  return Ok{};
}

}  // namespace cpsim
