// Built when CPSIM_MPI is OFF: no MPI session can exist (MpiSession refuses a launch under mpirun), so this
// factory is never reached; it says why if it were.
#include "backend/executors/executors.h"

namespace cpsim {

Result<std::unique_ptr<Executor>> make_mpi_executor(MpiSession, const Faults&) {
  return bad_input("mpirun: this cpsim was built without MPI (configure with -DCPSIM_MPI=ON)");
}

}  // namespace cpsim
