// Ranks as threads of one process: mailboxes guarded by a mutex, waits with a deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "backend/communicator.h"

namespace cpsim {

// Shared by all ranks of one run.
class ThreadFabric {
 public:
  ThreadFabric(std::int64_t world_size, double timeout_s);
  std::int64_t size() const { return size_; }
  std::string first_failure() {
    std::lock_guard lock(mutex_);
    return failure_;
  }

 private:
  friend class ThreadCommunicator;
  std::int64_t size_;
  std::chrono::duration<double> timeout_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<float>> mailbox_;  // (receiver, step) -> data
  std::vector<std::vector<float>> gathered_;
  std::vector<bool> posted_;
  std::vector<std::int64_t> progress_;  // per rank: the last step it sent for (-1: none yet)
  std::string failure_;  // set by the first rank that fails
  // On a timeout: the ranks furthest behind, which are the ones that failed or hang.
  std::string laggards() const;
};

class ThreadCommunicator final : public Communicator {
 public:
  ThreadCommunicator(ThreadFabric& fabric, std::int64_t rank) : fabric_(fabric), rank_(rank) {}
  std::int64_t rank() const override { return rank_; }
  std::int64_t size() const override { return fabric_.size_; }
  Status ring_shift(const std::vector<float>& send, std::vector<float>& received, std::int64_t step) override;
  Status all_gather(const std::vector<float>& mine, std::vector<std::vector<float>>& all) override;
  Status all_to_all_v(const std::vector<std::vector<float>>& send, std::vector<std::vector<float>>& received,
                      std::int64_t tag) override;
  void abort(const std::string& why) override;

 private:
  ThreadFabric& fabric_;
  std::int64_t rank_;
};

}  // namespace cpsim
