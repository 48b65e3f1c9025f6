// The MPI executor: under `mpirun -np W cpsim execute PLAN.json`, each process is one rank. Ring hops and
// the all-gather go through MPI point-to-point messages with deadlines; rank 0 gathers the outputs,
// verifies them and reports. Without MPI support compiled in, a launch under mpirun is refused.
#pragma once

#include <memory>
#include <optional>

#include "backend/executor.h"

namespace cpsim {

class MpiSession {
 public:
  // Initialises MPI when this process was started by mpirun (or another PMI launcher); nothing otherwise.
  static std::optional<MpiSession> join_if_launched();
  MpiSession(MpiSession&& other) noexcept;
  MpiSession& operator=(MpiSession&&) = delete;
  ~MpiSession();

  bool is_root() const { return rank_ == 0; }
  Result<Measurement> execute(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options);

 private:
  MpiSession(std::int64_t rank, std::int64_t size) : rank_(rank), size_(size) {}
  std::int64_t rank_ = 0;
  std::int64_t size_ = 1;
  bool owns_ = true;
};

// Runs on the GPU(s) (see cuda/); an error when this build has no CUDA or the machine has no GPU.
Result<Measurement> execute_on_cuda(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options,
                                    std::int64_t ranks_per_gpu);

}  // namespace cpsim
