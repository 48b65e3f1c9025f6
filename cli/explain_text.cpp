// Prints an Explanation: one row per part, its time, its share of the step and a bar.
#include "cli/explain_text.h"

#include <algorithm>
#include <cmath>

#include "cli/table.h"

namespace cpsim::cli {

std::string explanation_text(const Explanation& e) {
  double top = 0;
  for (const ExplainPart& p : e.parts) top = std::max(top, std::abs(p.us));
  Table table({"part", "ms", "share", "", "where it comes from"}, {true, false, false, true, true});
  for (const ExplainPart& p : e.parts) {
    const bool first = &p == &e.parts.front();
    const std::string ms = (first || p.us < 0 ? "" : "+") + millis(p.us);
    table.add_row({p.name, ms, percent(e.step_us > 0 ? p.us / e.step_us : 0, 0), bar(std::abs(p.us), top, 16), p.what});
  }
  return "why " + millis(e.step_us) + " ms, " + fixed(e.lower_bound_us > 0 ? e.step_us / e.lower_bound_us : 0, 2) + "x the lower bound:\n" +
         table.render();
}

}  // namespace cpsim::cli
