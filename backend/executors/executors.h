// The executors behind backend/executor.h's interface, one file each; choose_executor picks one. Where this
// build lacks what one needs (MPI, CUDA, NCCL), its factory says so (exit 2) instead of making it.
#pragma once

#include <memory>

#include "backend/executor.h"
#include "backend/mpi_session.h"

namespace cpsim {

std::unique_ptr<Executor> make_thread_executor(const Faults& faults);
Result<std::unique_ptr<Executor>> make_mpi_executor(MpiSession session, const Faults& faults);
Result<std::unique_ptr<Executor>> make_cuda_executor(const Faults& faults);
Result<std::unique_ptr<Executor>> make_nccl_executor(MpiSession session, const Faults& faults);

}  // namespace cpsim
