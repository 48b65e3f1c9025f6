// Reads BATCHES.jsonl line by line with the workload parser, so a bad line names its file, line and field.
#include "dataset/batch_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/json_fields.h"
#include "core/workload_json.h"

namespace cpsim {

Result<Workload> parse_batch_line(std::string_view text, const std::string& where) {
  CPSIM_ASSIGN_OR_RETURN(const Json doc, parse_json_text(text, where));
  return workload_from_json(doc, where);
}

Result<std::vector<BatchLine>> read_batch_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad_input(path + ": cannot open: " + std::strerror(errno));
  std::vector<BatchLine> lines;
  std::string text;
  for (std::int64_t number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    CPSIM_ASSIGN_OR_RETURN(Workload w, parse_batch_line(text, path + ":" + std::to_string(number)));
    lines.push_back({number, std::move(w)});
  }
  if (in.bad()) return bad_input(path + ": cannot read: " + std::strerror(errno));
  if (lines.empty()) return bad_input(path + ": no workloads: expected one workload JSON object per line");
  return lines;
}

}  // namespace cpsim
