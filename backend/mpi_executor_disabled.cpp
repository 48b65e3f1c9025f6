// Built when CPSIM_MPI is OFF: a launch under mpirun is refused instead of running W copies of the job.
#include <cstdlib>

#include "backend/mpi_executor.h"

namespace cpsim {

std::optional<MpiSession> MpiSession::join_if_launched() {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr) return MpiSession(0, 0);
  return std::nullopt;
}

MpiSession::MpiSession(MpiSession&& other) noexcept : rank_(other.rank_), size_(other.size_), owns_(false) {}
MpiSession::~MpiSession() = default;

Result<Measurement> MpiSession::execute(const Plan&, const std::string&, const ExecuteOptions&) {
  return bad_input("mpirun: this cpsim was built without MPI (configure with -DCPSIM_MPI=ON)");
}

}  // namespace cpsim
