// Workload files: JSON load and save, schema_version 1.
//   {"schema_version":1, "seq_len":16, "mask":{"kind":"document_causal"}, "documents":[[4,8,4]],
//    "model":{"q_heads":32,"kv_heads":8,"head_dim":128,"dtype":"bf16"}, "description":"..."}
#pragma once

#include <string>

#include "json_fields.h"
#include "workload.h"

namespace cpsim {

inline constexpr int kWorkloadSchemaVersion = 1;

Result<Workload> workload_from_json(const Json& doc, const std::string& source);
Result<Workload> load_workload(const std::string& path);

Json workload_to_json(const Workload& workload);
Status save_workload(const Workload& workload, const std::string& path);

// A stable 64-bit digest (FNV-1a) of the workload's canonical JSON, so plans can name their input.
std::string workload_digest(const Workload& workload);

}  // namespace cpsim
