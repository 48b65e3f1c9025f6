// Writes a simulation's timeline as Chrome trace events (microsecond timestamps).
#include "sim/trace.h"

#include "core/json_fields.h"

namespace cpsim {

std::string chrome_trace_json(const Simulation& sim, const std::string& title) {
  Json events = Json::array();
  const auto& t = sim.timeline;
  for (std::size_t r = 0; r < t.ranks.size(); ++r) {
    const auto pid = static_cast<std::int64_t>(r);
    events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", pid}, {"args", {{"name", "rank " + std::to_string(r)}}}});
    events.push_back({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", pid}, {"args", {{"sort_index", pid}}}});
    events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", 0}, {"args", {{"name", "compute"}}}});
    events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", 1}, {"args", {{"name", "communication"}}}});
    for (const Interval& iv : t.ranks[r]) {
      const Op& op = t.ops[iv.op];
      const bool compute = op.kind == OpKind::kCompute;
      Json args = {{"phase", op.backward ? "backward" : "forward"}};
      if (op.step >= 0) args["step"] = op.step;
      if (!compute) args["bytes"] = op.bytes;
      events.push_back({{"ph", "X"},
                        {"name", op.name},
                        {"cat", compute ? "compute" : "communication"},
                        {"pid", pid},
                        {"tid", compute ? 0 : 1},
                        {"ts", iv.start_us},
                        {"dur", iv.end_us - iv.start_us},
                        {"args", std::move(args)}});
    }
  }
  Json doc = {{"displayTimeUnit", "ms"},
              {"otherData", {{"title", title}, {"strategy", strategy_text(sim.strategy)}, {"step_us", sim.metrics.step_us}}},
              {"traceEvents", std::move(events)}};
  return json_text(doc) + "\n";
}

}  // namespace cpsim
