// The runtime summary lines of a comparison (Comparison::best_on and runtime_of's phrases, as text).
#include "sim/compare_summary.h"

#include <cstdio>

namespace cpsim {
namespace {

std::string ms(double us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", us / 1000.0);
  return buf;
}

std::string times(double slow_us, double fast_us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", fast_us > 0 ? slow_us / fast_us : 0.0);
  return buf;
}

}  // namespace

std::vector<std::string> runtime_summary(const Comparison& c) {
  std::vector<std::string> out;
  if (c.ranked.empty()) return out;
  const Candidate& best = c.ranked.front();
  const Candidate* torch = c.best_on(Runtime::kPyTorch);
  if (torch == nullptr) {
    out.push_back("best PyTorch can run: none of these candidates");
  } else {
    std::string line = "best PyTorch can run: " + strategy_text(torch->strategy) + " at " + ms(torch->metrics.step_us) + " ms (" +
                       torch->runtime.how + ")";
    if (torch != &best) {
      line += "; the winner (" +
              (best.runtime.runtime == Runtime::kSimulated ? std::string("simulated only") : "runs on " + std::string(runtime_name(best.runtime.runtime))) +
              ") is " + times(torch->metrics.step_us, best.metrics.step_us) + " faster";
    }
    out.push_back(line);
  }
  if (const Candidate* cp = c.best_on(Runtime::kCpsim); cp != nullptr && cp != &best) {
    out.push_back("best cpsim execute can run: " + strategy_text(cp->strategy) + " at " + ms(cp->metrics.step_us) + " ms (" + cp->runtime.how + ")");
  }
  // PyTorch's own balancers on its own paths, when this profile has PyTorch at all (on a CPU profile nothing runs on
  // PyTorch, and naming "PyTorch as shipped" beside "none" would contradict it).
  for (const Candidate& x : c.ranked) {
    if (torch == nullptr) break;
    if (!x.pytorch) continue;
    if (&x != torch) out.push_back("PyTorch as shipped (its own balancers): " + strategy_text(x.strategy) + " at " + ms(x.metrics.step_us) + " ms");
    break;
  }
  return out;
}

}  // namespace cpsim
