// In-process exchange between rank threads.
#include "backend/thread_communicator.h"

#include <sstream>

namespace cpsim {

ThreadFabric::ThreadFabric(std::int64_t world_size, double timeout_s)
    : size_(world_size), timeout_(timeout_s), gathered_(static_cast<std::size_t>(world_size)),
      posted_(static_cast<std::size_t>(world_size), false) {}

Status ThreadCommunicator::ring_shift(const std::vector<float>& send, std::vector<float>& received, std::int64_t step) {
  const std::int64_t w = fabric_.size_;
  const std::int64_t next = (rank_ + 1) % w, prev = (rank_ - 1 + w) % w;
  std::unique_lock lock(fabric_.mutex_);
  fabric_.mailbox_[{next, step}] = send;
  fabric_.changed_.notify_all();
  const auto key = std::make_pair(rank_, step);
  const bool arrived = fabric_.changed_.wait_for(lock, fabric_.timeout_, [&] {
    return fabric_.mailbox_.count(key) > 0 || !fabric_.failure_.empty();
  });
  if (!fabric_.failure_.empty()) return Error{ErrorCode::kExecutionFailed, fabric_.failure_};
  if (!arrived) {
    std::ostringstream msg;
    msg << "rank " << prev << " did not send its K/V for step " << step << " to rank " << rank_ << " within "
        << fabric_.timeout_.count() << " s (it failed or hangs)";
    fabric_.failure_ = msg.str();
    fabric_.changed_.notify_all();
    return Error{ErrorCode::kExecutionFailed, fabric_.failure_};
  }
  auto node = fabric_.mailbox_.extract(key);
  received = std::move(node.mapped());
  return Ok{};
}

Status ThreadCommunicator::all_gather(const std::vector<float>& mine, std::vector<std::vector<float>>& all) {
  std::unique_lock lock(fabric_.mutex_);
  fabric_.gathered_[static_cast<std::size_t>(rank_)] = mine;
  fabric_.posted_[static_cast<std::size_t>(rank_)] = true;
  fabric_.changed_.notify_all();
  const auto everyone = [&] {
    for (const bool p : fabric_.posted_) {
      if (!p) return false;
    }
    return true;
  };
  const bool done = fabric_.changed_.wait_for(lock, fabric_.timeout_, [&] { return everyone() || !fabric_.failure_.empty(); });
  if (!fabric_.failure_.empty()) return Error{ErrorCode::kExecutionFailed, fabric_.failure_};
  if (!done) {
    std::ostringstream msg;
    msg << "rank(s)";
    for (std::size_t r = 0; r < fabric_.posted_.size(); ++r) {
      if (!fabric_.posted_[r]) msg << " " << r;
    }
    msg << " did not join the K/V all-gather within " << fabric_.timeout_.count() << " s (failed or hang)";
    fabric_.failure_ = msg.str();
    fabric_.changed_.notify_all();
    return Error{ErrorCode::kExecutionFailed, fabric_.failure_};
  }
  all = fabric_.gathered_;
  return Ok{};
}

void ThreadCommunicator::abort(const std::string& why) {
  std::lock_guard lock(fabric_.mutex_);
  if (fabric_.failure_.empty()) fabric_.failure_ = "rank " + std::to_string(rank_) + " failed: " + why;
  fabric_.changed_.notify_all();
}

}  // namespace cpsim
