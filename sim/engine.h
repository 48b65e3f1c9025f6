// Event simulation of a schedule. Each rank has a compute stream and a communication stream; ops run in
// program order on their stream after their dependencies. Communication ops are collectives: they start
// when the last rank is ready, so a straggler delays every rank. Compute that overlaps communication on
// its rank is slowed by the profile's overlap factor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/cost_parts.h"

namespace cpsim {

enum class OpKind { kCompute, kComm };

struct Op {
  std::string name;
  OpKind kind = OpKind::kCompute;
  bool backward = false;
  std::int64_t step = -1;            // ring step, or -1
  std::vector<double> duration_us;   // per rank; a compute op of 0 is skipped (no kernel)
  std::vector<std::size_t> deps;     // ops that must have finished on the same rank
  double bytes = 0;                  // comm: payload each rank sends
  // Comm only. A collective ends on every rank when its slowest transfer does; grouped point-to-point
  // transfers (collective = false) end on each rank after its own duration, which must already include
  // waiting for the peers it receives from. Both start when the last rank is ready.
  bool collective = true;
  std::vector<CostParts> parts;  // compute: per rank, what duration_us is made of (for explain; empty: not recorded)
};

struct Interval {
  std::size_t op = 0;
  double start_us = 0;
  double end_us = 0;
};

struct Timeline {
  std::vector<Op> ops;
  // Per rank, the intervals of the ops that ran there, in program order.
  std::vector<std::vector<Interval>> ranks;
  std::vector<double> forward_end_us;  // per rank
  std::vector<double> end_us;          // per rank
};

// `ops` must be in program order (every dependency listed before its dependants).
Timeline run_schedule(std::vector<Op> ops, std::int64_t world_size, double overlap_slowdown);

}  // namespace cpsim
