// Text of the why-lines; the facts and their wording come from sim (Comparison::why, runtime_summary).
#include "gui/models/why_text.h"

#include "sim/compare_summary.h"

namespace cpsim::gui {

std::string winner_line(const Comparison& c) { return c.ranked.empty() ? std::string() : "winner: " + c.why; }

std::vector<std::string> runtime_lines(const Comparison& c) { return runtime_summary(c); }

}  // namespace cpsim::gui
