// In-process exchange between rank threads.
#include "backend/thread_communicator.h"

#include <algorithm>
#include <sstream>

namespace cpsim {

ThreadFabric::ThreadFabric(std::int64_t world_size, double timeout_s)
    : size_(world_size), timeout_(timeout_s), gathered_(static_cast<std::size_t>(world_size)),
      posted_(static_cast<std::size_t>(world_size), false), progress_(static_cast<std::size_t>(world_size), -1) {}

std::string ThreadFabric::laggards() const {
  const std::int64_t behind = *std::min_element(progress_.begin(), progress_.end());
  std::string ranks;
  std::int64_t count = 0;
  for (std::size_t r = 0; r < progress_.size(); ++r) {
    if (progress_[r] != behind) continue;
    ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    ++count;
  }
  std::ostringstream msg;
  msg << (count == 1 ? "rank " : "ranks ") << ranks << (count == 1 ? " stopped" : " stopped")
      << (behind < 0 ? " before sending any K/V" : " after step " + std::to_string(behind)) << " (failed or hangs): no progress within "
      << timeout_.count() << " s";
  return msg.str();
}

Status ThreadCommunicator::ring_shift(const std::vector<float>& send, std::vector<float>& received, std::int64_t step) {
  const std::int64_t w = fabric_.size_;
  const std::int64_t next = (rank_ + 1) % w, prev = (rank_ - 1 + w) % w;  // we wait for prev
  std::unique_lock lock(fabric_.mutex_);
  fabric_.mailbox_[{next, step}] = send;
  fabric_.progress_[static_cast<std::size_t>(rank_)] = step;
  fabric_.changed_.notify_all();
  const auto key = std::make_pair(rank_, step);
  const bool arrived = fabric_.changed_.wait_for(lock, fabric_.timeout_, [&] {
    return fabric_.mailbox_.count(key) > 0 || !fabric_.failure_.empty();
  });
  if (!fabric_.failure_.empty()) return Error{ErrorCode::kExecutionFailed, fabric_.failure_};
  if (!arrived) {
    (void)prev;
    if (fabric_.failure_.empty()) fabric_.failure_ = fabric_.laggards();
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
  fabric_.progress_[static_cast<std::size_t>(rank_)] = 0;
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
    if (fabric_.failure_.empty()) fabric_.failure_ = fabric_.laggards();
    fabric_.changed_.notify_all();
    return Error{ErrorCode::kExecutionFailed, fabric_.failure_};
  }
  all = fabric_.gathered_;
  return Ok{};
}

Status ThreadCommunicator::all_to_all_v(const std::vector<std::vector<float>>& send, std::vector<std::vector<float>>& received,
                                        std::int64_t tag) {
  const std::int64_t w = fabric_.size_;
  std::unique_lock lock(fabric_.mutex_);
  for (std::int64_t to = 0; to < w; ++to) {
    if (to != rank_) fabric_.mailbox_[{to, tag + rank_}] = send[static_cast<std::size_t>(to)];  // keyed by the sender
  }
  fabric_.progress_[static_cast<std::size_t>(rank_)] = tag;
  fabric_.changed_.notify_all();
  const auto everyone = [&] {
    for (std::int64_t from = 0; from < w; ++from) {
      if (from != rank_ && fabric_.mailbox_.count({rank_, tag + from}) == 0) return false;
    }
    return true;
  };
  const bool arrived = fabric_.changed_.wait_for(lock, fabric_.timeout_, [&] { return everyone() || !fabric_.failure_.empty(); });
  if (!fabric_.failure_.empty()) return Error{ErrorCode::kExecutionFailed, fabric_.failure_};
  if (!arrived) {
    fabric_.failure_ = fabric_.laggards();
    fabric_.changed_.notify_all();
    return Error{ErrorCode::kExecutionFailed, fabric_.failure_};
  }
  for (std::int64_t from = 0; from < w; ++from) {
    if (from == rank_) continue;
    auto node = fabric_.mailbox_.extract({rank_, tag + from});
    auto& into = received[static_cast<std::size_t>(from)];
    if (node.mapped().size() != into.size()) {
      return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(rank_) + " expected " + std::to_string(into.size()) +
                                                    " values from rank " + std::to_string(from) + " in exchange " + std::to_string(tag) +
                                                    ", got " + std::to_string(node.mapped().size())};
    }
    into = std::move(node.mapped());
  }
  return Ok{};
}

void ThreadCommunicator::abort(const std::string& why) {
  std::lock_guard lock(fabric_.mutex_);
  if (fabric_.failure_.empty()) fabric_.failure_ = "rank " + std::to_string(rank_) + " failed: " + why;
  fabric_.changed_.notify_all();
}

}  // namespace cpsim
