// One-line descriptions of workloads, plans and hardware for the CLI's headers.
#pragma once

#include <string>

#include "core/workload.h"

namespace cpsim::cli {

// "<path>: 1 row(s) x 131,072 tokens, 25 documents (longest 37,776), document_causal mask"
std::string describe_workload(const Workload& w, const std::string& path);

}  // namespace cpsim::cli
