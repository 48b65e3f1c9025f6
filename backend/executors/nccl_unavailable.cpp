// Built without NCCL, MPI or CUDA: `mpirun ... --device cuda` is refused with what the build lacks.
#include "backend/executors/executors.h"

namespace cpsim {

Result<std::unique_ptr<Executor>> make_nccl_executor(MpiSession, const Faults&) {
  return bad_input("--device cuda under mpirun: this cpsim was built without the NCCL executor (it needs CUDA, MPI and NCCL; "
                   "without mpirun, --device cuda runs every rank in turn on one GPU)");
}

}  // namespace cpsim
