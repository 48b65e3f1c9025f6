// `cpsim execute`: run a plan for real and check it. One interface, four executors (one file each under
// backend/executors/): CPU threads as ranks, MPI processes (under mpirun), every rank in turn on one GPU, and
// one GPU per MPI process with K/V over NCCL. Every one verifies the restored output against the same
// single-device fp64 reference computed on the CPU (backend/verify.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "backend/faults.h"
#include "backend/rank_program.h"
#include "core/measurement.h"
#include "core/plan.h"

namespace cpsim {

struct ExecuteOptions {
  std::optional<std::int64_t> q_heads, kv_heads, head_dim;  // override the plan's model (smaller runs)
  std::optional<RotateMethod> rotate;                       // override the plan's rotate method
  std::uint64_t seed = 1;
  bool backward = false;  // also run and check the backward pass (dQ, dK, dV)
  double timeout_s = 60;
  // Counted up while the run goes (ranks' steps, then the rows checked against the reference), for a progress line
  // drawn by another thread; none when null.
  RunProgress* progress = nullptr;
};

// Where an executor's ranks run, for the run-time estimate, and whether this process reports.
struct Placement {
  std::int64_t machines = 1;  // whose cores the ranks share (threads: this one)
  bool reports = true;        // false on the MPI ranks other than 0
};

class Executor {
 public:
  virtual ~Executor() = default;
  // What MEASURED.json calls it: "cpu", "mpi", "cuda" (one GPU) or "cuda-nccl".
  virtual std::string_view name() const = 0;
  // Runs the plan, checks it against the reference and measures it. The measurement comes back on the
  // process that reports (the only one, or MPI rank 0); the other MPI ranks get nothing.
  virtual Result<std::optional<Measurement>> execute(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options) = 0;
  virtual Placement placement() const { return {}; }
};

// The executor for `device` ("cpu" or "cuda") in this launch: under mpirun (or another PMI launcher) one rank
// per process (MPI for cpu; NCCL for cuda with more than one process), else threads or one GPU. Fails (exit 2)
// when this build lacks what that needs. `faults` (tests only) are injected by whichever runs.
Result<std::unique_ptr<Executor>> choose_executor(std::string_view device, const Faults& faults = {});

// What `device` cannot do of `options`, whatever this build has: the CUDA executors run the forward pass only.
Status check_device_options(std::string_view device, const ExecuteOptions& options);

// The strategy a plan runs with on an executor: the plan's, with `rotate` overriding its rotate method; a path
// that does not take the rotate method becomes the block-sparse path that does (flex_allgather or sparse_ring),
// and so does sparse_gather where the executor has no sparse exchange. Fails when the plan records no rotate
// method and none is given.
Result<Strategy> executed_strategy(const Plan& plan, std::optional<RotateMethod> rotate, bool sparse_exchange);

// The shape and strategy a run uses, with the overrides checked (exit 2 on bad values); Ulysses plans are refused
// (errors name `plan_path`).
Result<RankOptions> rank_options(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options, bool sparse_exchange);

// Bytes a CPU run of `plan` holds at its peak in one process running `local_ranks` of its ranks (each with its Q,
// output, LSE, own and received K/V, and after backward dout and gradients), plus, in the process that checks
// (`checks`), every rank's output and the fp64 reference of one row with its gradients.
double cpu_run_bytes(const Plan& plan, const RankOptions& options, std::int64_t local_ranks, bool checks);
// Refuses (exit 2) a run whose cpu_run_bytes exceeds 80% of this machine's memory, with both numbers.
Status check_run_fits(const Plan& plan, const std::string& plan_path, const RankOptions& options, std::int64_t local_ranks, bool checks);

// The (rank, step) pairs a run counts in RunProgress::steps_done: W per rank and pass.
inline std::int64_t progress_steps(const Plan& plan, const RankOptions& options) {
  return plan.world_size * plan.world_size * (options.backward ? 2 : 1);
}

}  // namespace cpsim
