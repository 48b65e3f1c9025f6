// One GPU per MPI process (`mpirun -np W cpsim execute PLAN.json --device cuda`): each process drives one GPU
// as one rank. K/V move by NCCL (ring send/recv, or one all-gather) on a stream of their own while the previous
// step computes, as in PyTorch's ring; CUDA events time every (rank, step) compute and hop. Rank 0 gathers the
// outputs over MPI and checks them against the fp64 CPU reference.
#include <nccl.h>

#include <chrono>
#include <cmath>
#include <thread>
#include <utility>

#include "backend/cuda_support.h"
#include "backend/gpu_placement.h"
#include "backend/executors/executors.h"
#include "backend/verify.h"

namespace cpsim {
namespace {

using Clock = std::chrono::steady_clock;

// A nonblocking NCCL communicator. Every wait on it has a deadline: a peer that never arrives or fails aborts
// the communicator and becomes an error naming the rank, never a hang.
class NcclComm {
 public:
  NcclComm(std::int64_t rank, double timeout_s) : rank_(rank), timeout_s_(timeout_s) {}
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  ~NcclComm() {
    if (comm_ != nullptr) ncclCommAbort(comm_);  // after a finished run as after a failed one: nothing is pending
  }

  Status init(const ncclUniqueId& id, std::int64_t world) {
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    CPSIM_RETURN_IF_ERROR(check("ncclCommInitRankConfig",
                                ncclCommInitRankConfig(&comm_, static_cast<int>(world), id, static_cast<int>(rank_), &config)));
    return settle("communicator set-up (every rank must join)");
  }

  // A call's result; ncclInProgress is fine (settle() waits for it).
  Status check(const std::string& what, ncclResult_t r) {
    if (r == ncclSuccess || r == ncclInProgress) return Ok{};
    return fail(what + ": " + ncclGetErrorString(r));
  }

  // Waits until the communicator has finished enqueuing (nonblocking mode), up to the deadline.
  Status settle(const std::string& what) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s_);
    while (true) {
      ncclResult_t state = ncclSuccess;
      ncclCommGetAsyncError(comm_, &state);
      if (state == ncclSuccess) return Ok{};
      if (state != ncclInProgress) return fail(what + ": " + ncclGetErrorString(state));
      if (Clock::now() > deadline) return fail(what + " did not complete within " + std::to_string(timeout_s_) + " s (a rank failed or hangs)");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  // Waits for `done` (the row's last event), watching for NCCL errors; `peers` names who this rank waits on.
  Status wait(cudaEvent_t done, const std::string& peers) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s_);
    while (true) {
      const cudaError_t e = cudaEventQuery(done);
      if (e == cudaSuccess) return Ok{};
      if (e != cudaErrorNotReady) return fail(std::string("CUDA: ") + cudaGetErrorString(e));
      ncclResult_t state = ncclSuccess;
      ncclCommGetAsyncError(comm_, &state);
      if (state != ncclSuccess && state != ncclInProgress) return fail(std::string("NCCL: ") + ncclGetErrorString(state));
      if (Clock::now() > deadline) {
        return fail("its K/V did not arrive within " + std::to_string(timeout_s_) + " s: " + peers + " failed or hangs");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  ncclComm_t get() const { return comm_; }

 private:
  Error fail(const std::string& why) {
    if (comm_ != nullptr) ncclCommAbort(comm_);
    comm_ = nullptr;
    return Error{ErrorCode::kExecutionFailed, "--device cuda: rank " + std::to_string(rank_) + ": " + why};
  }

  ncclComm_t comm_ = nullptr;
  std::int64_t rank_;
  double timeout_s_;
};

// Events of one row: per step the hop that brings its K/V and its compute (kernel + merge).
struct RowEvents {
  std::vector<CudaEvent> hop_start, hop_end, compute_start, compute_end;
  CudaEvent row_start, row_end;  // row_end: the last compute and the last hop done
  explicit RowEvents(std::int64_t w) : hop_start(w), hop_end(w), compute_start(w), compute_end(w) {}
  cudaError_t create() {
    for (auto* v : {&hop_start, &hop_end, &compute_start, &compute_end}) {
      for (auto& e : *v) {
        if (const cudaError_t err = e.create(); err != cudaSuccess) return err;
      }
    }
    if (const cudaError_t err = row_start.create(); err != cudaSuccess) return err;
    return row_end.create();
  }
};

class RankOnGpu {
 public:
  RankOnGpu(const Plan& plan, const RankOptions& ro, std::int64_t rank, NcclComm& comm)
      : plan_(plan), ro_(ro), gathered_(ro.exchange() == KvExchange::kAllGather), rank_(rank), w_(plan.world_size),
        n_(plan.workload.seq_len / plan.world_size), comm_(comm) {}

  Status init() {
    CPSIM_CUDA_TRY("cudaStreamCreate", compute_stream_.create(cudaStreamNonBlocking));
    CPSIM_CUDA_TRY("cudaStreamCreate", comm_stream_owner_.create(cudaStreamNonBlocking));
    compute_ = compute_stream_.get();
    comm_stream_ = comm_stream_owner_.get();
    run_.compute_us.assign(static_cast<std::size_t>(w_), 0);
    run_.comm_us.assign(static_cast<std::size_t>(w_), 0);
    run_.comm_bytes.assign(static_cast<std::size_t>(w_), 0);
    return Ok{};
  }

  // One batch row: every step's CSR is uploaded first, then hops and computes are enqueued on their streams
  // (hop i+1 before compute i, so they overlap) and the row is awaited once.
  Status run_row(std::int64_t row) {
    const AttentionShape& shape = ro_.shape;
    const RowLayout& layout = plan_.layouts[static_cast<std::size_t>(row)];
    const std::int64_t s_len = plan_.workload.seq_len;
    const RowIntervals iv = row_intervals(RowMask(plan_.workload.mask, s_len, plan_.workload.documents[static_cast<std::size_t>(row)]), s_len);
    auto slot_positions = [&](std::int64_t r) {
      return std::vector<std::int64_t>(layout.rearrange().begin() + r * n_, layout.rearrange().begin() + (r + 1) * n_);
    };
    const std::vector<std::int64_t> q_pos = slot_positions(rank_);
    std::vector<std::int64_t> q_lo, q_hi;
    for (const std::int64_t p : q_pos) {
      q_lo.push_back(iv.lo[static_cast<std::size_t>(p)]);
      q_hi.push_back(iv.hi[static_cast<std::size_t>(p)]);
    }
    std::vector<DeviceCsr> csr;
    std::vector<DeviceBuffer<int>> k_pos(static_cast<std::size_t>(w_));
    for (std::int64_t i = 0; i < w_; ++i) {
      const std::int64_t src = ring_source(rank_, i, w_);
      const std::vector<std::int64_t> src_pos = slot_positions(src);
      CPSIM_CUDA_TRY("upload key positions", k_pos[static_cast<std::size_t>(src)].upload(to_int(src_pos)));
      CPSIM_ASSIGN_OR_RETURN(DeviceCsr c, upload_block_csr(q_lo, q_hi, src_pos));
      csr.push_back(std::move(c));
    }
    const auto kv_elems = static_cast<std::size_t>(n_ * shape.kv_heads * shape.head_dim);
    const std::size_t shard_bytes = 2 * kv_elems * sizeof(std::uint16_t);  // K then V, bf16
    std::vector<std::uint16_t> own = bf16_input(Tensor::kK, shape, row, q_pos, ro_.seed);
    const std::vector<std::uint16_t> own_v = bf16_input(Tensor::kV, shape, row, q_pos, ro_.seed);
    own.insert(own.end(), own_v.begin(), own_v.end());
    DeviceBuffer<std::uint16_t> q, kv[2], gathered;
    DeviceBuffer<int> d_lo, d_hi;
    DeviceBuffer<float> out, lse, out_blk, lse_blk;
    CPSIM_CUDA_TRY("upload Q shard", q.upload(bf16_input(Tensor::kQ, shape, row, q_pos, ro_.seed)));
    CPSIM_CUDA_TRY("upload K/V shard", kv[0].upload(own));
    CPSIM_CUDA_TRY("allocate receive buffer", kv[1].allocate(2 * kv_elems));
    if (gathered_) CPSIM_CUDA_TRY("allocate all-gather buffer", gathered.allocate(2 * kv_elems * static_cast<std::size_t>(w_)));
    CPSIM_CUDA_TRY("upload intervals", d_lo.upload(to_int(q_lo)));
    CPSIM_CUDA_TRY("upload intervals", d_hi.upload(to_int(q_hi)));
    const auto out_elems = static_cast<std::size_t>(n_ * shape.q_heads * shape.head_dim);
    const auto lse_elems = static_cast<std::size_t>(n_ * shape.q_heads);
    CPSIM_CUDA_TRY("allocate output", out.upload(std::vector<float>(out_elems, 0.0f)));
    CPSIM_CUDA_TRY("allocate output", lse.upload(std::vector<float>(lse_elems, -INFINITY)));
    CPSIM_CUDA_TRY("allocate block output", out_blk.allocate(out_elems));
    CPSIM_CUDA_TRY("allocate block output", lse_blk.allocate(lse_elems));

    RowEvents ev(w_);
    CPSIM_CUDA_TRY("cudaEventCreate", ev.create());
    const int next = static_cast<int>((rank_ + 1) % w_), prev = static_cast<int>((rank_ - 1 + w_) % w_);
    CPSIM_CUDA_TRY("event", cudaEventRecord(ev.row_start.get(), compute_));
    CPSIM_CUDA_TRY("stream wait", cudaStreamWaitEvent(comm_stream_, ev.row_start.get(), 0));
    if (gathered_) {  // one all-gather of K||V, while step 0 computes on the rank's own shard
      CPSIM_CUDA_TRY("event", cudaEventRecord(ev.hop_start[0].get(), comm_stream_));
      CPSIM_RETURN_IF_ERROR(comm_.check("ncclAllGather", ncclAllGather(kv[0].get(), gathered.get(), shard_bytes, ncclUint8, comm_.get(),
                                                                       comm_stream_)));
      CPSIM_RETURN_IF_ERROR(comm_.settle("all-gather"));
      CPSIM_CUDA_TRY("event", cudaEventRecord(ev.hop_end[0].get(), comm_stream_));
    }
    int cur = 0;  // kv[cur] holds step i's K/V on the ring
    for (std::int64_t i = 0; i < w_; ++i) {
      const auto src = static_cast<std::size_t>(ring_source(rank_, i, w_));
      if (!gathered_ && i + 1 < w_) {  // hop i + 1: pass step i's K/V on, receive step i + 1's
        // The receive buffer was read by compute i - 1.
        if (i >= 1) CPSIM_CUDA_TRY("stream wait", cudaStreamWaitEvent(comm_stream_, ev.compute_end[i - 1].get(), 0));
        CPSIM_CUDA_TRY("event", cudaEventRecord(ev.hop_start[i + 1].get(), comm_stream_));
        CPSIM_RETURN_IF_ERROR(comm_.check("ncclGroupStart", ncclGroupStart()));
        CPSIM_RETURN_IF_ERROR(comm_.check("ncclSend", ncclSend(kv[cur].get(), shard_bytes, ncclUint8, next, comm_.get(), comm_stream_)));
        CPSIM_RETURN_IF_ERROR(comm_.check("ncclRecv", ncclRecv(kv[1 - cur].get(), shard_bytes, ncclUint8, prev, comm_.get(), comm_stream_)));
        CPSIM_RETURN_IF_ERROR(comm_.check("ncclGroupEnd", ncclGroupEnd()));
        CPSIM_RETURN_IF_ERROR(comm_.settle("ring hop " + std::to_string(i + 1)));
        CPSIM_CUDA_TRY("event", cudaEventRecord(ev.hop_end[i + 1].get(), comm_stream_));
      }
      const std::uint16_t* k = kv[cur].get();
      if (gathered_ && i > 0) {
        CPSIM_CUDA_TRY("stream wait", cudaStreamWaitEvent(compute_, ev.hop_end[0].get(), 0));
        k = gathered.get() + src * 2 * kv_elems;
      } else if (i > 0) {
        CPSIM_CUDA_TRY("stream wait", cudaStreamWaitEvent(compute_, ev.hop_end[i].get(), 0));
      }
      const cuda::FlashForwardParams fp = flash_params(shape, n_, q.get(), d_lo.get(), d_hi.get(), k, k + kv_elems, k_pos[src].get(),
                                                       out_blk.get(), lse_blk.get());
      CPSIM_CUDA_TRY("event", cudaEventRecord(ev.compute_start[i].get(), compute_));
      CPSIM_CUDA_TRY("flash and merge kernels", attend_and_merge(fp, csr[static_cast<std::size_t>(i)], out.get(), lse.get(), compute_));
      CPSIM_CUDA_TRY("event", cudaEventRecord(ev.compute_end[i].get(), compute_));
      if (!gathered_) cur = 1 - cur;
    }
    const std::int64_t last_hop = gathered_ ? 0 : w_ - 1;
    if (last_hop > 0 || gathered_) CPSIM_CUDA_TRY("stream wait", cudaStreamWaitEvent(compute_, ev.hop_end[last_hop].get(), 0));
    CPSIM_CUDA_TRY("event", cudaEventRecord(ev.row_end.get(), compute_));
    CPSIM_RETURN_IF_ERROR(comm_.wait(ev.row_end.get(), "rank " + std::to_string(prev) + " (which sends to it) or rank " +
                                                                 std::to_string(next) + " (which it sends to)"));
    for (std::int64_t i = 0; i < w_; ++i) {
      const auto step = static_cast<std::size_t>(i);
      run_.compute_us[step] += elapsed_us(ev.compute_start[i].get(), ev.compute_end[i].get());
      if (gathered_ ? i == 0 : i > 0) {
        run_.comm_us[step] += elapsed_us(ev.hop_start[i].get(), ev.hop_end[i].get());
        run_.comm_bytes[step] += static_cast<double>(shard_bytes) * (gathered_ ? static_cast<double>(w_ - 1) : 1.0);
      }
    }
    run_.total_us += elapsed_us(ev.row_start.get(), ev.row_end.get());
    PartialAttention result;
    CPSIM_CUDA_TRY("download output", out.download(result.out));
    CPSIM_CUDA_TRY("download output", lse.download(result.lse));
    run_.rows.push_back(std::move(result));
    return Ok{};
  }

  const RankRun& run() const { return run_; }

 private:
  const Plan& plan_;
  const RankOptions& ro_;
  bool gathered_;
  std::int64_t rank_, w_, n_;
  NcclComm& comm_;
  CudaStream compute_stream_, comm_stream_owner_;
  cudaStream_t compute_ = nullptr, comm_stream_ = nullptr;  // theirs, for short calls
  RankRun run_;
};

// This process's GPU: its local index, refused when two ranks of the job would share one device.
Result<cudaDeviceProp> choose_gpu(MpiSession& mpi, double timeout_s) {
  CPSIM_ASSIGN_OR_RETURN(const int gpus, gpu_count());
  const int device = gpu_for_process(mpi.local_rank(), gpus);
  CPSIM_CUDA_TRY("cudaSetDevice", cudaSetDevice(device));
  cudaDeviceProp prop{};
  CPSIM_CUDA_TRY("cudaGetDeviceProperties", cudaGetDeviceProperties(&prop, device));
  std::string id = std::string(prop.name) + " ";
  static const char* kHex = "0123456789abcdef";
  for (const char b : prop.uuid.bytes) id += std::string{kHex[(b >> 4) & 15], kHex[b & 15]};
  CPSIM_ASSIGN_OR_RETURN(const std::vector<std::string> all, mpi.all_gather(id, timeout_s));
  CPSIM_RETURN_IF_ERROR(check_one_gpu_per_rank(all));
  return prop;
}

// The ranks' work: a GPU each, one NCCL communicator, the rows in turn.
Result<RankRun> run_on_this_gpu(MpiSession& mpi, const Plan& plan, const RankOptions& ro, double timeout_s) {
  ncclUniqueId id{};
  if (mpi.is_root()) {
    if (const ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) {
      return Error{ErrorCode::kExecutionFailed, std::string("--device cuda: ncclGetUniqueId: ") + ncclGetErrorString(r)};
    }
  }
  CPSIM_RETURN_IF_ERROR(mpi.broadcast(&id, sizeof id, timeout_s));
  NcclComm comm(mpi.rank(), timeout_s);
  CPSIM_RETURN_IF_ERROR(comm.init(id, plan.world_size));
  RankOnGpu rank(plan, ro, mpi.rank(), comm);
  CPSIM_RETURN_IF_ERROR(rank.init());
  for (std::int64_t row = 0; row < ro.shape.rows; ++row) CPSIM_RETURN_IF_ERROR(rank.run_row(row));
  return rank.run();
}

class NcclExecutor final : public Executor {
 public:
  NcclExecutor(MpiSession session, Faults faults) : mpi_(std::move(session)), faults_(faults) {}
  std::string_view name() const override { return "cuda-nccl"; }
  Placement placement() const override { return {1, mpi_.is_root()}; }

  Result<std::optional<Measurement>> execute(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options) override {
    CPSIM_RETURN_IF_ERROR(mpi_.check_world_size(plan, plan_path));
    CPSIM_ASSIGN_OR_RETURN(const RankOptions ro, cuda_rank_options(plan, plan_path, options));
    // Bad input (no GPU, two ranks on one GPU) is seen alike by every rank, so each returns it (exit 2); any other
    // failure may hit one rank only and ends the job (MPI_Abort), so that no rank waits for it.
    auto prop = choose_gpu(mpi_, options.timeout_s);
    if (!prop && prop.error().code == ErrorCode::kBadInput) return prop.error();
    if (!prop) mpi_.abort(prop.error().message);
    auto started = rank_fault(faults_, mpi_.rank());
    if (!started) mpi_.abort(started.error().message);
    auto run = run_on_this_gpu(mpi_, plan, ro, options.timeout_s);
    if (!run) mpi_.abort(run.error().message);
    auto runs = mpi_.gather_runs(*run, options.timeout_s);
    if (!runs) mpi_.abort(runs.error().message);
    if (!mpi_.is_root()) return std::optional<Measurement>();
    int driver = 0, nccl = 0;
    cudaDriverGetVersion(&driver);
    ncclGetVersion(&nccl);
    const RunIdentity who{std::string(name()), DeviceKind::kGpu,
                          std::to_string(plan.world_size) + " x " + prop->name + " (one GPU per MPI process, K/V over NCCL " +
                              std::to_string(nccl / 10000) + "." + std::to_string(nccl / 100 % 100) + ")",
                          "CUDA driver " + std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10)};
    return std::optional(finish_run(plan, plan_path, ro, std::move(*runs), faults_, gpu_reference_check(plan.world_size), who));
  }

 private:
  MpiSession mpi_;
  Faults faults_;
};

}  // namespace

Result<std::unique_ptr<Executor>> make_nccl_executor(MpiSession session, const Faults& faults) {
  return std::unique_ptr<Executor>(std::make_unique<NcclExecutor>(std::move(session), faults));
}

}  // namespace cpsim
