// Parsing $CPSIM_FAULTS and injecting its faults.
#include "backend/faults.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "core/json_fields.h"

namespace cpsim {
namespace {

std::optional<std::int64_t> number(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

Result<Faults> faults_from_environment() {
  Faults f;
  const char* env = std::getenv("CPSIM_FAULTS");
  if (env == nullptr) return f;
  std::string_view rest(env);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto eq = item.find('='), colon = item.find(':');
    const std::string_view key = item.substr(0, eq), value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (item.empty()) continue;
    if (item == "corrupt-output") {
      f.corrupt_output = true;
    } else if (item == "corrupt-gradient") {
      f.corrupt_gradient = true;
    } else if (key == "fail-rank" && number(value)) {
      f.failing_rank = *number(value);
    } else if (key == "stall-rank" && colon != std::string_view::npos && number(item.substr(eq + 1, colon - eq - 1)) &&
               number(item.substr(colon + 1))) {
      f.stalled_rank = *number(item.substr(eq + 1, colon - eq - 1));
      f.stall_ms = *number(item.substr(colon + 1));
    } else {
      return bad_input("CPSIM_FAULTS: " + describe_value(Json(std::string(item))) +
                       " is not a fault (expected fail-rank=R, stall-rank=R:MS, corrupt-output or corrupt-gradient)");
    }
  }
  return f;
}

Status rank_fault(const Faults& f, std::int64_t rank) {
  if (rank == f.failing_rank) return Error{ErrorCode::kExecutionFailed, "rank " + std::to_string(rank) + " failed (injected fault)"};
  if (rank == f.stalled_rank) std::this_thread::sleep_for(std::chrono::milliseconds(f.stall_ms));
  return Ok{};
}

void corrupt_results(const Faults& f, std::vector<RankRun>& runs, double tolerance) {
  if (runs.empty()) return;
  const auto offset = static_cast<float>(std::max(1e-3, 2.0 * tolerance));
  if (f.corrupt_output && !runs[0].rows.empty() && !runs[0].rows[0].out.empty()) runs[0].rows[0].out[0] += offset;
  if (f.corrupt_gradient && !runs[0].grads.empty() && !runs[0].grads[0].dk.empty()) runs[0].grads[0].dk[0] += 1e-2f;
}

}  // namespace cpsim
