// MPI processes as ranks (`mpirun -np W cpsim execute PLAN.json`): the path users take across machines. Each
// process runs its rank; rank 0 gathers the results, checks them and reports. A rank that fails ends the job.
#include <algorithm>

#include "backend/executors/executors.h"
#include "backend/verify.h"

namespace cpsim {
namespace {

class MpiExecutor final : public Executor {
 public:
  MpiExecutor(MpiSession session, Faults faults) : mpi_(std::move(session)), faults_(faults) {}
  std::string_view name() const override { return "mpi"; }
  // The job's processes spread over machines of local_size() processes each (all on this one under plain mpirun).
  Placement placement() const override {
    return {(mpi_.size() + mpi_.local_size() - 1) / std::max<std::int64_t>(1, mpi_.local_size()), mpi_.is_root()};
  }

  Result<std::optional<Measurement>> execute(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options) override {
    CPSIM_RETURN_IF_ERROR(mpi_.check_world_size(plan, plan_path));
    CPSIM_ASSIGN_OR_RETURN(const RankOptions ro, rank_options(plan, plan_path, options, true));
    if (ro.progress != nullptr) {  // each process sees only its own rank's steps
      ro.progress->own_rank_only = true;
      ro.progress->steps_total = progress_steps(plan, ro) / plan.world_size;
    }
    // Every rank checks as rank 0 does (which also holds the reference), so that they all refuse alike.
    CPSIM_RETURN_IF_ERROR(check_run_fits(plan, plan_path, ro, 1, true));
    const auto comm = mpi_.communicator(options.timeout_s);
    auto started = rank_fault(faults_, mpi_.rank());
    if (!started) mpi_.abort(started.error().message);  // ends every process: no rank waits for a dead one
    auto run = run_rank(plan, ro, *comm);
    if (!run) mpi_.abort(run.error().message);
    auto runs = mpi_.gather_runs(*run, options.timeout_s);
    if (!runs) mpi_.abort(runs.error().message);
    if (!mpi_.is_root()) return std::optional<Measurement>();
    const RunIdentity who{std::string(name()), DeviceKind::kCpu, "cpu (" + std::to_string(mpi_.size()) + " MPI processes)", ""};
    return std::optional(finish_run(plan, plan_path, ro, std::move(*runs), faults_, cpu_reference_check(), who));
  }

 private:
  MpiSession mpi_;
  Faults faults_;
};

}  // namespace

Result<std::unique_ptr<Executor>> make_mpi_executor(MpiSession session, const Faults& faults) {
  return std::unique_ptr<Executor>(std::make_unique<MpiExecutor>(std::move(session), faults));
}

}  // namespace cpsim
