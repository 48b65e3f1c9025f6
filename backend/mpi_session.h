// An MPI job as the executors use it: under `mpirun -np W cpsim execute ...` each process is one rank. The
// session gives the rank's place in the job, a Communicator over MPI point-to-point messages (every wait with a
// deadline), the collectives the executors need, and an abort that ends every process of the job.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/communicator.h"
#include "backend/rank_program.h"
#include "core/plan.h"

namespace cpsim {

class MpiSession {
 public:
  // Initialises MPI when this process was started by mpirun (or another PMI launcher); nothing otherwise.
  // Under a launcher in a build without MPI: an error (exit 2), not W copies of the job.
  static Result<std::optional<MpiSession>> join_if_launched();
  MpiSession(MpiSession&& other) noexcept;
  MpiSession& operator=(MpiSession&&) = delete;
  ~MpiSession();

  std::int64_t rank() const { return rank_; }
  std::int64_t size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  // This process's index among the job's processes on its machine, and their number (which GPU it drives).
  std::int64_t local_rank() const { return local_rank_; }
  std::int64_t local_size() const { return local_size_; }

  // The job must have exactly the plan's W processes.
  Status check_world_size(const Plan& plan, const std::string& plan_path) const;
  // K/V exchange between the job's processes; every wait at most timeout_s.
  std::unique_ptr<Communicator> communicator(double timeout_s) const;
  // Rank 0's `bytes` at `data` copied into every process's (the NCCL unique id).
  Status broadcast(void* data, std::size_t bytes, double timeout_s);
  // Every rank's string (at most kMaxGatheredChars), in rank order, on every rank.
  static constexpr std::size_t kMaxGatheredChars = 255;
  Result<std::vector<std::string>> all_gather(const std::string& mine, double timeout_s);
  // Every rank's run at rank 0, in rank order; an empty vector on the other ranks. All runs have the same sizes.
  Result<std::vector<RankRun>> gather_runs(const RankRun& mine, double timeout_s);
  // Ends every process of the job after printing why, so that no rank waits for a dead one.
  [[noreturn]] void abort(const std::string& why);

 private:
  MpiSession(std::int64_t rank, std::int64_t size, std::int64_t local_rank, std::int64_t local_size)
      : rank_(rank), size_(size), local_rank_(local_rank), local_size_(local_size) {}
  std::int64_t rank_ = 0;
  std::int64_t size_ = 1;
  std::int64_t local_rank_ = 0;
  std::int64_t local_size_ = 1;
  bool owns_ = true;
};

}  // namespace cpsim
