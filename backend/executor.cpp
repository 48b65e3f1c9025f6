// Choosing an executor from --device and the launch, and what every executor runs with.
#include "backend/executor.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "backend/executors/executors.h"
#include "backend/mpi_session.h"
#include "core/text_format.h"

namespace cpsim {

Result<std::unique_ptr<Executor>> choose_executor(std::string_view device, const Faults& faults) {
  if (device != "cpu" && device != "cuda") {
    return bad_input("--device: unknown device " + describe_value(Json(std::string(device))) + " (expected cpu or cuda)");
  }
  CPSIM_ASSIGN_OR_RETURN(std::optional<MpiSession> mpi, MpiSession::join_if_launched());
  if (device == "cuda") {
    if (mpi && mpi->size() > 1) return make_nccl_executor(std::move(*mpi), faults);  // one GPU per process
    return make_cuda_executor(faults);                                               // every rank in turn on one GPU
  }
  if (mpi) return make_mpi_executor(std::move(*mpi), faults);
  return make_thread_executor(faults);
}

Status check_device_options(std::string_view device, const ExecuteOptions& o) {
  if (device == "cuda" && o.backward) {
    return bad_input("--backward: the CUDA executor runs the forward pass only (backward runs on --device cpu, threads or MPI processes)");
  }
  return Ok{};
}

Result<Strategy> executed_strategy(const Plan& plan, std::optional<RotateMethod> rotate, bool sparse_exchange) {
  if (!plan.strategy && !rotate) return bad_input("--rotate: the plan records no rotate method; pass --rotate allgather or alltoall");
  Strategy s;
  if (plan.strategy) {
    s = *plan.strategy;
  } else {
    s.balancer = plan.balancer;
    s.path = *rotate == RotateMethod::kAllGather ? AttentionPath::kFlexAllgather : AttentionPath::kSparseRing;
  }
  if (rotate) s.rotate = *rotate;
  const bool gather = s.rotate == RotateMethod::kAllGather;
  const bool takes = s.path == AttentionPath::kSdpaRing || (gather ? s.path != AttentionPath::kSparseRing
                                                                   : s.path == AttentionPath::kSparseRing);
  if (!takes || (s.path == AttentionPath::kSparseGather && !sparse_exchange)) {
    s.path = gather ? AttentionPath::kFlexAllgather : AttentionPath::kSparseRing;
  }
  s.gather_stages = s.path == AttentionPath::kSparseGather ? 1 : 0;  // the executors exchange in one stage
  return s;
}

Result<RankOptions> rank_options(const Plan& plan, const std::string& plan_path, const ExecuteOptions& o, bool sparse_exchange) {
  RankOptions r;
  const ModelShape& m = plan.workload.model;
  r.shape.rows = plan.workload.rows();
  r.shape.seq_len = plan.workload.seq_len;
  r.shape.q_heads = o.q_heads.value_or(m.q_heads);
  r.shape.kv_heads = o.kv_heads.value_or(o.q_heads ? std::min(*o.q_heads, m.kv_heads) : m.kv_heads);
  r.shape.head_dim = o.head_dim.value_or(m.head_dim);
  if (r.shape.q_heads <= 0) return bad_input("--q-heads: must be positive, got " + std::to_string(r.shape.q_heads));
  if (r.shape.kv_heads <= 0 || r.shape.q_heads % r.shape.kv_heads != 0) {
    return bad_input("--kv-heads: " + std::to_string(r.shape.kv_heads) + " must be positive and divide q heads " + std::to_string(r.shape.q_heads));
  }
  if (r.shape.head_dim <= 0) return bad_input("--head-dim: must be positive, got " + std::to_string(r.shape.head_dim));
  if (plan.strategy && plan.strategy->ulysses > 1) {
    return bad_input(plan_path + ": strategy: " + strategy_text(*plan.strategy) +
                     " (Ulysses) is simulated only; the executors run plans without Ulysses");
  }
  CPSIM_ASSIGN_OR_RETURN(r.strategy, executed_strategy(plan, o.rotate, sparse_exchange));
  r.backward = o.backward;
  r.seed = o.seed;
  r.progress = o.progress;
  return r;
}

double cpu_run_bytes(const Plan& plan, const RankOptions& o, std::int64_t local_ranks, bool checks) {
  const double rows = static_cast<double>(plan.workload.rows()), s = static_cast<double>(plan.workload.seq_len);
  const double n = s / static_cast<double>(plan.world_size);
  const double hq = static_cast<double>(o.shape.q_heads), hkv = static_cast<double>(o.shape.kv_heads), d = static_cast<double>(o.shape.head_dim);
  const double q = rows * n * hq * d, shard_kv = rows * 2 * n * hkv * d;
  // K/V held besides the own shard: all of it gathered (or, at most, by the sparse exchange), or two ring buffers.
  const double received = o.exchange() == KvExchange::kRing ? 2 * shard_kv : rows * 2 * s * hkv * d;
  double rank = q + q + rows * n * hq + shard_kv + received;
  if (o.backward) rank += 3 * q + rows * n * hq + 3 * shard_kv;  // dout, dq, delta, per-source dK/dV in flight
  double bytes = 4.0 * rank * static_cast<double>(local_ranks);
  if (checks) {
    const double outputs = rows * s * hq * (d + 1) * (o.backward ? 2 : 1) + (o.backward ? rows * 2 * s * hkv * d : 0);
    const double workers = static_cast<double>(std::max(1u, std::thread::hardware_concurrency()));
    double reference = 4.0 * s * (hq + 2 * hkv) * d + 8.0 * s * hq * (d + 1);
    if (o.backward) reference += 4.0 * s * hq * d + 8.0 * s * hq * d + 8.0 * (1 + workers) * 2 * s * hkv * d;
    bytes += 4.0 * outputs * (local_ranks == plan.world_size ? 0 : 1) + reference;
  }
  return bytes;
}

Status check_run_fits(const Plan& plan, const std::string& plan_path, const RankOptions& o, std::int64_t local_ranks, bool checks) {
  const double pages = static_cast<double>(::sysconf(_SC_PHYS_PAGES)), page = static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  const double limit = 0.8 * pages * page;
  const double need = cpu_run_bytes(plan, o, local_ranks, checks);
  if (pages <= 0 || page <= 0 || need <= limit) return Ok{};
  auto gib = [](double b) { return format_number(b / (1024.0 * 1024.0 * 1024.0), "%.1f"); };
  return bad_input(plan_path + ": this run needs about " + gib(need) + " GiB (" + std::to_string(local_ranks) +
                   " ranks' Q, K/V and outputs and the fp64 reference), more than 80% of this machine's " + gib(pages * page) +
                   " GiB; run fewer heads (--q-heads, --kv-heads, --head-dim) or the ranks as MPI processes");
}

}  // namespace cpsim
