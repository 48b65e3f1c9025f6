// The MPI session: its communicator (nonblocking messages polled against a deadline), collectives and abort.
#include "backend/mpi_session.h"

#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace cpsim {
namespace {

using Clock = std::chrono::steady_clock;

bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
         std::getenv("PMIX_RANK") != nullptr;
}

// Waits for all requests until the deadline; false on timeout (the requests are then cancelled).
bool wait_all(std::vector<MPI_Request>& requests, double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    int done = 0;
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
    if (done) return true;
    if (Clock::now() > deadline) {
      for (auto& r : requests) {
        if (r != MPI_REQUEST_NULL) MPI_Cancel(&r);
      }
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// Waits for each request until the deadline; returns the indices of those still pending (then cancelled),
// so that a caller can name the peers that never answered.
std::vector<std::size_t> wait_each(std::vector<MPI_Request>& requests, double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    bool all_done = true;
    for (auto& r : requests) {
      int done = 1;
      if (r != MPI_REQUEST_NULL) MPI_Test(&r, &done, MPI_STATUS_IGNORE);  // a completed request becomes NULL
      all_done = all_done && done;
    }
    if (all_done) return {};
    if (Clock::now() > deadline) {
      std::vector<std::size_t> pending;
      for (std::size_t i = 0; i < requests.size(); ++i) {
        if (requests[i] != MPI_REQUEST_NULL) {
          pending.push_back(i);
          MPI_Cancel(&requests[i]);
        }
      }
      return pending;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// Ends every process of the job (MPI_Abort), after saying why on stderr.
[[noreturn]] void abort_job(std::int64_t rank, const std::string& why) {
  std::cerr << "cpsim: error: rank " << rank << ": " << why << "\n";
  MPI_Abort(MPI_COMM_WORLD, static_cast<int>(ErrorCode::kExecutionFailed));
  std::abort();  // MPI_Abort does not return; this tells the compiler so
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(std::int64_t rank, std::int64_t size, double timeout_s) : rank_(rank), size_(size), timeout_s_(timeout_s) {}
  std::int64_t rank() const override { return rank_; }
  std::int64_t size() const override { return size_; }

  Status ring_shift(const std::vector<float>& send, std::vector<float>& received, std::int64_t step) override {
    const int next = static_cast<int>((rank_ + 1) % size_), prev = static_cast<int>((rank_ - 1 + size_) % size_);
    received.resize(send.size());
    std::vector<MPI_Request> req(2);
    MPI_Irecv(received.data(), static_cast<int>(received.size()), MPI_FLOAT, prev, static_cast<int>(step), MPI_COMM_WORLD, &req[0]);
    MPI_Isend(send.data(), static_cast<int>(send.size()), MPI_FLOAT, next, static_cast<int>(step), MPI_COMM_WORLD, &req[1]);
    if (!wait_all(req, timeout_s_)) {
      return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(prev) + " did not send its K/V for step " + std::to_string(step) +
                                                    " to rank " + std::to_string(rank_) + " within " + std::to_string(timeout_s_) +
                                                    " s (it failed or hangs)"};
    }
    return Ok{};
  }

  // Ring all-gather: W-1 shifts, so a missing peer is named like in ring_shift.
  Status all_gather(const std::vector<float>& mine, std::vector<std::vector<float>>& all) override {
    all.assign(static_cast<std::size_t>(size_), {});
    all[static_cast<std::size_t>(rank_)] = mine;
    std::vector<float> current = mine;
    for (std::int64_t i = 1; i < size_; ++i) {
      std::vector<float> received;
      if (auto ok = ring_shift(current, received, 100000 + i); !ok) return ok;
      all[static_cast<std::size_t>(((rank_ - i) % size_ + size_) % size_)] = received;
      current = std::move(received);
    }
    return Ok{};
  }

  // Nonblocking sends and receives with every peer; a peer whose data is missing at the deadline is named.
  Status all_to_all_v(const std::vector<std::vector<float>>& send, std::vector<std::vector<float>>& received,
                      std::int64_t tag) override {
    std::vector<MPI_Request> recv, sent;
    std::vector<int> from;
    for (std::int64_t peer = 0; peer < size_; ++peer) {
      if (peer == rank_) continue;
      auto& into = received[static_cast<std::size_t>(peer)];
      recv.emplace_back();
      from.push_back(static_cast<int>(peer));
      MPI_Irecv(into.data(), static_cast<int>(into.size()), MPI_FLOAT, static_cast<int>(peer), static_cast<int>(tag), MPI_COMM_WORLD, &recv.back());
    }
    for (std::int64_t peer = 0; peer < size_; ++peer) {
      if (peer == rank_) continue;
      const auto& out = send[static_cast<std::size_t>(peer)];
      sent.emplace_back();
      MPI_Isend(out.data(), static_cast<int>(out.size()), MPI_FLOAT, static_cast<int>(peer), static_cast<int>(tag), MPI_COMM_WORLD, &sent.back());
    }
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s_);
    if (const auto pending = wait_each(recv, timeout_s_); !pending.empty()) {
      std::string missing;
      for (const std::size_t i : pending) missing += (missing.empty() ? "" : ", ") + std::to_string(from[i]);
      return Error{ErrorCode::kExecutionFailed, "rank(s) " + missing + " did not send their K/V (exchange " + std::to_string(tag) + ") to rank " +
                                                    std::to_string(rank_) + " within " + std::to_string(timeout_s_) + " s (failed or hang)"};
    }
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (!wait_all(sent, std::max(left, 1.0))) {
      return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(rank_) + "'s K/V sends (exchange " + std::to_string(tag) +
                                                    ") were not taken within " + std::to_string(timeout_s_) + " s"};
    }
    return Ok{};
  }

  void abort(const std::string& why) override { abort_job(rank_, why); }

 private:
  std::int64_t rank_, size_;
  double timeout_s_;
};

// A rank's results as sent to rank 0: per row out and lse (and dq, dk, dv after backward), then
// compute/comm/bytes per step (forward, then backward) and the totals. Every rank's buffers have the same
// sizes, so rank 0 unpacks into a copy of its own run.
std::vector<double> pack(const RankRun& run) {
  std::vector<double> buf;
  auto put = [&](const auto& v) { buf.insert(buf.end(), v.begin(), v.end()); };
  for (const auto& row : run.rows) put(row.out), put(row.lse);
  for (const auto& g : run.grads) put(g.dq), put(g.dk), put(g.dv);
  for (const auto* v : {&run.compute_us, &run.comm_us, &run.comm_bytes, &run.backward_compute_us, &run.backward_comm_us,
                        &run.backward_comm_bytes}) {
    put(*v);
  }
  buf.push_back(run.total_us);
  buf.push_back(run.backward_total_us);
  return buf;
}

RankRun unpack(const std::vector<double>& buf, const RankRun& shape_like) {
  RankRun run = shape_like;
  std::size_t at = 0;
  auto take_floats = [&](std::vector<float>& v) {
    for (auto& x : v) x = static_cast<float>(buf[at++]);
  };
  for (auto& row : run.rows) take_floats(row.out), take_floats(row.lse);
  for (auto& g : run.grads) take_floats(g.dq), take_floats(g.dk), take_floats(g.dv);
  for (auto* v : {&run.compute_us, &run.comm_us, &run.comm_bytes, &run.backward_compute_us, &run.backward_comm_us,
                  &run.backward_comm_bytes}) {
    for (auto& x : *v) x = buf[at++];
  }
  run.total_us = buf[at++];
  run.backward_total_us = buf[at];
  return run;
}

}  // namespace

Result<std::optional<MpiSession>> MpiSession::join_if_launched() {
  if (!launched_by_mpi()) return std::optional<MpiSession>();
  MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm node;  // the processes sharing this machine
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &local_rank);
  MPI_Comm_size(node, &local_size);
  MPI_Comm_free(&node);
  return std::optional<MpiSession>(MpiSession(rank, size, local_rank, local_size));
}

MpiSession::MpiSession(MpiSession&& other) noexcept
    : rank_(other.rank_), size_(other.size_), local_rank_(other.local_rank_), local_size_(other.local_size_), owns_(other.owns_) {
  other.owns_ = false;
}

MpiSession::~MpiSession() {
  if (owns_) MPI_Finalize();
}

Status MpiSession::check_world_size(const Plan& plan, const std::string& plan_path) const {
  if (size_ == plan.world_size) return Ok{};
  return bad_input(plan_path + ": world_size: the plan needs " + std::to_string(plan.world_size) + " ranks but mpirun started " +
                   std::to_string(size_) + " (use mpirun -np " + std::to_string(plan.world_size) + ")");
}

Status MpiSession::broadcast(void* data, std::size_t bytes, double timeout_s) {
  std::vector<MPI_Request> req(1);
  MPI_Ibcast(data, static_cast<int>(bytes), MPI_BYTE, 0, MPI_COMM_WORLD, &req[0]);
  if (!wait_all(req, timeout_s)) {
    return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(rank_) + ": the broadcast from rank 0 did not arrive within " +
                                                  std::to_string(timeout_s) + " s (rank 0 failed or hangs)"};
  }
  return Ok{};
}

Result<std::vector<std::string>> MpiSession::all_gather(const std::string& mine, double timeout_s) {
  std::vector<char> send(kMaxGatheredChars + 1, '\0'), all(send.size() * static_cast<std::size_t>(size_));
  mine.copy(send.data(), kMaxGatheredChars);
  std::vector<MPI_Request> req(1);
  MPI_Iallgather(send.data(), static_cast<int>(send.size()), MPI_CHAR, all.data(), static_cast<int>(send.size()), MPI_CHAR, MPI_COMM_WORLD,
                 &req[0]);
  if (!wait_all(req, timeout_s)) {
    return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(rank_) + ": not every rank joined the all-gather within " +
                                                  std::to_string(timeout_s) + " s (a rank failed or hangs)"};
  }
  std::vector<std::string> out;
  for (std::int64_t r = 0; r < size_; ++r) out.emplace_back(all.data() + static_cast<std::size_t>(r) * send.size());
  return out;
}

Result<std::vector<RankRun>> MpiSession::gather_runs(const RankRun& mine, double timeout_s) {
  const std::vector<double> packed = pack(mine);
  if (rank_ != 0) {
    std::vector<MPI_Request> req(1);
    MPI_Isend(packed.data(), static_cast<int>(packed.size()), MPI_DOUBLE, 0, 7, MPI_COMM_WORLD, &req[0]);
    if (!wait_all(req, timeout_s)) return Error{ErrorCode::kExecutionFailed, "rank 0 did not collect the results within the timeout"};
    return std::vector<RankRun>{};
  }
  std::vector<RankRun> runs{mine};
  for (std::int64_t r = 1; r < size_; ++r) {
    std::vector<double> buf(packed.size());
    std::vector<MPI_Request> req(1);
    MPI_Irecv(buf.data(), static_cast<int>(buf.size()), MPI_DOUBLE, static_cast<int>(r), 7, MPI_COMM_WORLD, &req[0]);
    if (!wait_all(req, timeout_s)) {
      return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(r) + " did not send its results within the timeout"};
    }
    runs.push_back(unpack(buf, mine));
  }
  return runs;
}

void MpiSession::abort(const std::string& why) { abort_job(rank_, why); }

std::unique_ptr<Communicator> MpiSession::communicator(double timeout_s) const {
  return std::make_unique<MpiCommunicator>(rank_, size_, timeout_s);
}

}  // namespace cpsim
