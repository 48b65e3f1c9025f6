// Built when the CUDA toolkit is not found (or CPSIM_CUDA=OFF): --device cuda is refused with what is missing.
#include "backend/executors/executors.h"

namespace cpsim {

Result<std::unique_ptr<Executor>> make_cuda_executor(const Faults&) {
  return bad_input("--device cuda: this cpsim was built without CUDA (configure with -DCPSIM_CUDA=ON on a machine with the CUDA toolkit)");
}

}  // namespace cpsim
