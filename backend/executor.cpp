// Choosing an executor from --device and the launch, and what every executor runs with.
#include "backend/executor.h"

#include "backend/executors/executors.h"
#include "backend/mpi_session.h"

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
  return r;
}

}  // namespace cpsim
