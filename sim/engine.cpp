// The event simulation: a single pass over the ops in program order is exact for this kind of schedule
// (fixed streams, known dependencies), so no event queue is needed.
#include "sim/engine.h"

#include <algorithm>
#include <cassert>

namespace cpsim {

Timeline run_schedule(std::vector<Op> ops, std::int64_t world_size, double overlap_slowdown) {
  const auto w = static_cast<std::size_t>(world_size);
  Timeline t;
  t.ranks.assign(w, {});
  t.forward_end_us.assign(w, 0);
  t.end_us.assign(w, 0);
  std::vector<std::vector<double>> op_end(ops.size(), std::vector<double>(w, 0));
  std::vector<double> compute_free(w, 0), comm_free(w, 0);
  std::vector<std::vector<Interval>> comm_intervals(w);

  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    assert(op.duration_us.size() == w);
    std::vector<double> ready(w, 0);
    for (std::size_t r = 0; r < w; ++r) {
      double at = op.kind == OpKind::kCompute ? compute_free[r] : comm_free[r];
      for (const std::size_t d : op.deps) {
        assert(d < i);
        at = std::max(at, op_end[d][r]);
      }
      // A backward op cannot start before the rank's forward has finished.
      if (op.backward) at = std::max(at, t.forward_end_us[r]);
      ready[r] = at;
    }
    if (op.kind == OpKind::kComm) {
      // A collective starts when its last participant arrives and ends when its slowest transfer does.
      const double start = *std::max_element(ready.begin(), ready.end());
      const double slowest = *std::max_element(op.duration_us.begin(), op.duration_us.end());
      for (std::size_t r = 0; r < w; ++r) {
        const double end = start + (op.collective ? slowest : op.duration_us[r]);
        op_end[i][r] = end;
        comm_free[r] = end;
        if (end > start) {
          t.ranks[r].push_back({i, start, end});
          comm_intervals[r].push_back({i, start, end});
        }
      }
    } else {
      for (std::size_t r = 0; r < w; ++r) {
        const double start = ready[r];
        double duration = op.duration_us[r];
        if (duration > 0) {
          double overlap = 0;
          for (const Interval& c : comm_intervals[r]) {
            overlap += std::max(0.0, std::min(c.end_us, start + duration) - std::max(c.start_us, start));
          }
          duration += overlap_slowdown * overlap;
          t.ranks[r].push_back({i, start, start + duration});
          compute_free[r] = start + duration;
        }
        op_end[i][r] = start + duration;
      }
    }
    for (std::size_t r = 0; r < w; ++r) {
      t.end_us[r] = std::max(t.end_us[r], op_end[i][r]);
      if (!op.backward) t.forward_end_us[r] = std::max(t.forward_end_us[r], op_end[i][r]);
    }
  }
  t.ops = std::move(ops);
  return t;
}

}  // namespace cpsim
