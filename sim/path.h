// An attention path as the simulator sees it: which rotate methods and plans it takes, the ops it runs (in the
// order PyTorch or cpsim issues them), the kernels it can call and the memory it holds. One file per path under
// sim/paths/, registered by name in path_registry.cpp, as the balancers are.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/plan.h"
#include "core/strategy.h"
#include "sim/cost_model.h"
#include "sim/engine.h"
#include "sim/topology.h"

namespace cpsim {

// One ring step's kernel call on one rank, and how many query rows it merges into the running output.
struct StepKernel {
  KernelWork work;
  std::int64_t merge_rows = 0;
};

// What one simulation of a plan under one strategy works from. The cost model is for the heads one rank
// computes (q_heads / U, kv_heads / U) and the topology has stride U. Inputs that the schedule, the memory and
// the metrics all need are derived here once, on first use.
class SimContext {
 public:
  SimContext(const Plan& plan, const Strategy& strategy, const CostModel& cost, const Topology& topology)
      : plan(plan), strategy(strategy), cost(cost), topology(topology) {}

  const Plan& plan;
  const Strategy& strategy;
  const CostModel& cost;
  const Topology& topology;

  // K/V tokens each rank's queries see, at rank * W + source (core/kv_demand.h).
  const std::vector<std::int64_t>& kv_demand() const;
  // Per (rank, step), index rank * W + step, the kernel of a ring path (the path's own rule).
  const std::vector<StepKernel>& ring_steps() const;
  // Bytes of one rank's K and V shard for the heads it moves (its Ulysses group's share), input dtype.
  double kv_shard_bytes() const;

 private:
  mutable std::optional<std::vector<std::int64_t>> kv_demand_;
  mutable std::optional<std::vector<StepKernel>> ring_steps_;
};

class PathModel {
 public:
  virtual ~PathModel() = default;
  virtual AttentionPath path() const = 0;
  std::string_view name() const { return path_name(path()); }
  // True for the paths PyTorch ships (its SDPA ring and FlexAttention CP).
  virtual bool from_pytorch() const { return false; }
  // Whether it can call kernels of `interface` (sim/kernel.h); its default kernel on a profile is the first
  // of the profile's kernels it accepts.
  virtual bool accepts(KernelInterface interface) const = 0;
  // The rotate methods it takes, in the order compare lists them.
  virtual std::vector<RotateMethod> rotate_methods() const = 0;
  // Why it cannot run `plan` with `strategy`'s rotate method (what PyTorch would say), or nothing.
  virtual std::optional<std::string> unsupported_reason(const Plan& plan, const Strategy& strategy) const = 0;
  // The most stages its K/V can arrive in over W ranks; 0 for paths without stages.
  virtual std::int64_t max_stages(std::int64_t /*world_size*/) const { return 0; }
  // The ops of one simulation, forward and, with `backward`, backward (`stages`: see max_stages).
  virtual std::vector<Op> schedule(const SimContext& in, bool backward, std::int64_t stages) const = 0;
  // Peak bytes one rank holds for attention (inputs, outputs, K/V buffers, fp32 merge and gradient buffers).
  virtual double peak_memory_bytes(const SimContext& in, bool backward) const = 0;
  // Per (rank, step), for ring paths: the kernel each step runs. Empty for paths without ring steps.
  virtual std::vector<StepKernel> ring_steps(const Plan& /*plan*/) const { return {}; }
};

// Every path, in all_paths() order.
const std::vector<std::unique_ptr<PathModel>>& path_registry();
const PathModel& path_model(AttentionPath path);

std::unique_ptr<PathModel> make_sdpa_ring_path();
std::unique_ptr<PathModel> make_flex_allgather_path();
std::unique_ptr<PathModel> make_sparse_ring_path();
std::unique_ptr<PathModel> make_sparse_gather_path();

// Shared by the paths: the tiles of a plan's (rank, step) or whole rank as one kernel's work.
KernelWork plan_tiles(const TileCounts& tiles, const RowStats& rows);
// Bytes of one rank's K and V shard in the input dtype, and of its dK/dV in fp32 (all heads).
double kv_shard_bytes(const Plan& plan);
double dkv_shard_bytes_fp32(const Plan& plan);
// The memory every path holds: Q, K, V, out, LSE (and in backward dout), plus `kv_buffer_bytes` of received K/V;
// `ring_accumulators`: fp32 out/LSE merged step by step and fp32 dQ/dK/dV accumulators with one dK/dV block in
// flight (the ring paths); otherwise full-length dK/dV before it is returned. Per GPU of a Ulysses group.
double attention_memory_bytes(const SimContext& in, double kv_buffer_bytes, bool ring_accumulators, bool backward);

}  // namespace cpsim
