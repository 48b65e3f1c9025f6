// What the two ring paths (PyTorch's SDPA ring and cpsim's sparse ring) share: the ring's op order and its
// memory. They differ in the kernel each (rank, step) runs, which each path supplies as its ring steps.
#pragma once

#include <vector>

#include "sim/path.h"

namespace cpsim {

// PyTorch's ring (_templated_ring_attention): with alltoall the hop for step i+1 is issued before compute i
// and the communication stream runs the hops back to back; with allgather one collective overlaps step 0
// only. Backward sends the dK/dV accumulator (fp32) one hop behind each compute. Kernels from in.ring_steps().
std::vector<Op> ring_schedule(const SimContext& in, bool backward);

// K/V buffers: current + incoming shard (alltoall) or all of K/V (allgather); fp32 merge and accumulators.
double ring_memory_bytes(const SimContext& in, bool backward);

// A ring path: the ring's schedule and memory, with the kernel of each (rank, step) from ring_steps().
class RingPath : public PathModel {
 public:
  std::vector<Op> schedule(const SimContext& in, bool backward, std::int64_t) const final { return ring_schedule(in, backward); }
  double peak_memory_bytes(const SimContext& in, bool backward) const final { return ring_memory_bytes(in, backward); }
};

}  // namespace cpsim
