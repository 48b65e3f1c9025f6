// The machine as a Boost.Graph graph: GPUs, one NVSwitch fabric per node, one NIC per GPU and an
// InfiniBand fabric, with a time curve per kind of communication on every link. Ranks fill nodes in order; ring
// hops and collective bottlenecks come from paths in the graph, so a ring that crosses nodes pays InfiniBand there.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/result.h"
#include "sim/hardware.h"

namespace cpsim {

// A path's curve per kind of communication: the narrowest link's bandwidth, the latencies summed over its links
// and the highest floor.
struct PathCost {
  std::array<OpCurve, 4> ops;  // by CommOp
  bool crosses_nodes = false;
  const OpCurve& op(CommOp o) const { return ops[static_cast<std::size_t>(o)]; }
};

class Topology {
 public:
  // Rank r runs on GPU r * stride (stride > 1: the ring of a 2-D hybrid, one rank per Ulysses group).
  // Fails when the profile has fewer GPUs than that needs.
  static Result<Topology> build(const HardwareProfile& profile, std::int64_t world_size, std::int64_t stride = 1);

  std::int64_t world_size() const { return world_size_; }
  std::int64_t node_of_rank(std::int64_t rank) const { return rank * stride_ / gpus_per_node_; }
  std::int64_t nodes() const { return nodes_; }  // the nodes the W x stride GPUs span
  // rank -> rank + 1 (mod W): the hops of a ring shift and of NCCL's ring collectives.
  const PathCost& ring_hop(std::int64_t rank) const { return ring_hops_[static_cast<std::size_t>(rank)]; }
  std::int64_t inter_node_ring_hops() const;

  // One ring shift (every rank sends `bytes` to the next, send/recv): done when the slowest hop is.
  double ring_shift_us(double bytes) const;
  // NCCL ring all-gather or reduce-scatter (`op`) whose full output is `total_bytes`: the op's curve with
  // (W-1)/W of it as bus bytes over W - 1 steps, on the ring's narrowest link with its slowest step.
  double ring_collective_us(CommOp op, double total_bytes) const;
  // A personalised all-to-all (NCCL all-to-all-v as grouped send/recv); bytes[to * W + from]. Per rank: the
  // all-to-all curve at the larger of its sent and received bytes, on NVLink and on its NIC, which run at once.
  std::vector<double> all_to_all_v_us(const std::vector<double>& bytes) const;
  // An even all-to-all among GPUs of one node (Ulysses) in which each GPU sends `bytes_per_gpu` to the others.
  double node_all_to_all_us(double bytes_per_gpu) const { return intra_node_.op(CommOp::kAllToAll).time_us(bytes_per_gpu); }

 private:
  std::int64_t world_size_ = 1;
  std::int64_t gpus_per_node_ = 8;
  std::int64_t nodes_ = 1;
  std::int64_t stride_ = 1;
  std::vector<PathCost> ring_hops_;
  PathCost intra_node_;  // GPU to GPU through the node's NVSwitch
  PathCost inter_node_;  // GPU to GPU on another node, through the NICs and the fabric
};

}  // namespace cpsim
