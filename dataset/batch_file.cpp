// Reads BATCHES.jsonl line by line with the workload parser, so a bad line names its file, line and field.
#include "dataset/batch_file.h"

#include <algorithm>

#include "core/file_io.h"
#include "core/json_fields.h"
#include "core/workload_json.h"

namespace cpsim {

Result<Workload> parse_batch_line(std::string_view text, const std::string& where) {
  CPSIM_ASSIGN_OR_RETURN(const Json doc, parse_json_text(text, where));
  return workload_from_json(doc, where);
}

Result<std::vector<BatchLine>> read_batch_file(const std::string& path) {
  CPSIM_ASSIGN_OR_RETURN(const std::string text, read_input_file(path));
  std::vector<BatchLine> lines;
  std::int64_t number = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = std::string_view(text).substr(at, end - at);
    ++number;
    at = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    CPSIM_ASSIGN_OR_RETURN(Workload w, parse_batch_line(line, path + ":" + std::to_string(number)));
    lines.push_back({number, std::move(w)});
  }
  if (lines.empty()) return bad_input(path + ": no workloads: expected one workload JSON object per line");
  return lines;
}

}  // namespace cpsim
