// Built when the CUDA toolkit is not found (or CPSIM_CUDA=OFF).
#include "backend/mpi_executor.h"

namespace cpsim {

Result<Measurement> execute_on_cuda(const Plan&, const std::string&, const ExecuteOptions&) {
  return bad_input("--device cuda: this cpsim was built without CUDA (configure with -DCPSIM_CUDA=ON on a machine with the CUDA toolkit)");
}

}  // namespace cpsim
