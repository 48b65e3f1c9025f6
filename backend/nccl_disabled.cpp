// Built without NCCL, MPI or CUDA: `mpirun ... --device cuda` is refused with what the build lacks.
#include "backend/mpi_executor.h"

namespace cpsim {

Result<Measurement> execute_on_gpus(MpiSession&, const Plan&, const std::string&, const ExecuteOptions&) {
  return bad_input("--device cuda under mpirun: this cpsim was built without the NCCL executor (it needs CUDA, MPI and NCCL; "
                   "without mpirun, --device cuda runs every rank in turn on one GPU)");
}

}  // namespace cpsim
