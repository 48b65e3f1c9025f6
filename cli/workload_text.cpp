// Text descriptions of workloads.
#include "cli/workload_text.h"

#include <algorithm>

#include "cli/table.h"

namespace cpsim::cli {

std::string describe_workload(const Workload& w, const std::string& path) {
  std::size_t docs = 0;
  std::int64_t longest = 0;
  for (const auto& row : w.documents) {
    docs += row.size();
    for (const auto len : row) longest = std::max(longest, len);
  }
  return path + ": " + std::to_string(w.rows()) + " row(s) x " + with_commas(w.seq_len) + " tokens, " +
         with_commas(static_cast<std::int64_t>(docs)) + " documents (longest " + with_commas(longest) + "), " +
         std::string(mask_kind_name(w.mask.kind)) + " mask";
}

}  // namespace cpsim::cli
