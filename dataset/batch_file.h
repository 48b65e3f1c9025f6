// BATCHES.jsonl: one workload per line (the fields of WORKLOAD.json), every line checked before anything runs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/workload.h"

namespace cpsim {

// One line of BATCHES.jsonl: a workload object with the same fields as WORKLOAD.json. `where` names the
// file and line ("batches.jsonl:12") in errors.
Result<Workload> parse_batch_line(std::string_view text, const std::string& where);

struct BatchLine {
  std::int64_t line = 0;  // 1-based line number in the file
  Workload workload;
};
// Every non-blank line, checked before anything runs (a bad line is exit 2 with nothing written).
Result<std::vector<BatchLine>> read_batch_file(const std::string& path);

}  // namespace cpsim
