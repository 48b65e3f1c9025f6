// CPU threads as ranks, in this process: the exact oracle every plan can be checked with, in CI.
#include <new>
#include <system_error>
#include <thread>

#include "backend/executors/executors.h"
#include "backend/thread_communicator.h"
#include "backend/verify.h"
#include "core/limits.h"

namespace cpsim {
namespace {

class ThreadExecutor final : public Executor {
 public:
  explicit ThreadExecutor(Faults faults) : faults_(faults) {}
  std::string_view name() const override { return "cpu"; }

  Result<std::optional<Measurement>> execute(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options) override {
    CPSIM_ASSIGN_OR_RETURN(RankOptions ro, rank_options(plan, plan_path, options, true));
    const std::int64_t w = plan.world_size;
    if (w > kMaxThreadRanks) {
      return bad_input(plan_path + ": world_size: " + std::to_string(w) + " ranks are more than the " + std::to_string(kMaxThreadRanks) +
                       " the CPU executor runs as threads of one process; run them as MPI processes (mpirun -np " + std::to_string(w) + ")");
    }
    CPSIM_RETURN_IF_ERROR(check_run_fits(plan, plan_path, ro, w, true));
    if (ro.progress != nullptr) ro.progress->steps_total = progress_steps(plan, ro);
    ThreadFabric fabric(w, options.timeout_s);
    std::vector<std::optional<Result<RankRun>>> results(static_cast<std::size_t>(w));
    std::vector<std::thread> threads;
    auto rank_thread = [&](std::int64_t r) {
      ThreadCommunicator comm(fabric, r);
      Status started = rank_fault(faults_, r);
      Result<RankRun> result = Error{};
      try {
        result = started ? run_rank(plan, ro, comm) : Result<RankRun>(started.error());
      } catch (const std::bad_alloc&) {
        result = bad_input(plan_path + ": rank " + std::to_string(r) + " ran out of memory");
      }
      if (!result) comm.abort(result.error().message);
      results[static_cast<std::size_t>(r)].emplace(std::move(result));
    };
    try {
      for (std::int64_t r = 0; r < w; ++r) threads.emplace_back(rank_thread, r);
    } catch (const std::system_error& e) {  // the started ranks wait for the others: end them, then say why
      ThreadCommunicator(fabric, 0).abort("the system refused a thread");
      for (auto& t : threads) t.join();
      return bad_input(plan_path + ": cannot start " + std::to_string(w) + " rank threads: " + e.what());
    }
    for (auto& t : threads) t.join();
    std::vector<RankRun> runs;
    for (auto& result : results) {
      if (!result->ok()) {
        // The root cause is the first failure recorded on the fabric: a failed rank names itself, a timeout
        // names the ranks furthest behind.
        const std::string first = fabric.first_failure();
        return Error{ErrorCode::kExecutionFailed, first.empty() ? result->error().message : first};
      }
      runs.push_back(std::move(result->value()));
    }
    const RunIdentity who{std::string(name()), DeviceKind::kCpu,
                          "cpu (" + std::to_string(w) + " threads on " + std::to_string(std::thread::hardware_concurrency()) + " cores)", ""};
    return std::optional(finish_run(plan, plan_path, ro, std::move(runs), faults_, cpu_reference_check(), who));
  }

 private:
  Faults faults_;
};

}  // namespace

std::unique_ptr<Executor> make_thread_executor(const Faults& faults) { return std::make_unique<ThreadExecutor>(faults); }

}  // namespace cpsim
