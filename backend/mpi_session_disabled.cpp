// Built when CPSIM_MPI is OFF: a launch under mpirun is refused instead of running W copies of the job.
#include <cstdlib>

#include "backend/mpi_session.h"

namespace cpsim {
namespace {

Error no_mpi() { return bad_input("mpirun: this cpsim was built without MPI (configure with -DCPSIM_MPI=ON)"); }

}  // namespace

Result<std::optional<MpiSession>> MpiSession::join_if_launched() {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr) {
    return no_mpi();
  }
  return std::optional<MpiSession>();
}

MpiSession::MpiSession(MpiSession&& other) noexcept
    : rank_(other.rank_), size_(other.size_), local_rank_(other.local_rank_), local_size_(other.local_size_), owns_(false) {}
MpiSession::~MpiSession() = default;

std::unique_ptr<Communicator> MpiSession::communicator(double) const { std::abort(); }
Status MpiSession::check_world_size(const Plan&, const std::string&) const { return no_mpi(); }
Status MpiSession::broadcast(void*, std::size_t, double) { return no_mpi(); }
Result<std::vector<std::string>> MpiSession::all_gather(const std::string&, double) { return no_mpi(); }
Result<std::vector<RankRun>> MpiSession::gather_runs(const RankRun&, double) { return no_mpi(); }
void MpiSession::abort(const std::string&) { std::abort(); }

}  // namespace cpsim
