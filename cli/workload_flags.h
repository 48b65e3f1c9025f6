// The mask and model-shape flags of the commands that make workloads (`generate`, `import`): one definition, so
// both take the same names, defaults and checks.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/flags.h"
#include "core/result.h"
#include "core/workload.h"

namespace cpsim::cli {

struct WorkloadFlags {
  std::string mask_name = "document_causal";
  Mask mask;
  ModelShape model;
};

inline void add_workload_flags(CLI::App* sub, WorkloadFlags& f) {
  sub->add_option("--mask", f.mask_name, "Mask kind: " + all_mask_kind_names())->capture_default_str();
  sub->add_option("--window", f.mask.window, "Sliding-window kinds: keys each query sees, itself included")->check(decimal());
  sub->add_option("--prefix", f.mask.prefix, "prefix_lm: bidirectional prefix length")->check(decimal());
  sub->add_option("--q-heads", f.model.q_heads, "Query heads")->capture_default_str()->check(decimal());
  sub->add_option("--kv-heads", f.model.kv_heads, "Key/value heads")->capture_default_str()->check(decimal());
  sub->add_option("--head-dim", f.model.head_dim, "Head dimension")->capture_default_str()->check(decimal());
  sub->add_option("--dtype", f.model.dtype, "bf16, fp16 or fp32")->capture_default_str();
}

// Resolves --mask into f.mask.kind (the other fields are checked with the workload, by validate_workload).
inline Status resolve_workload_flags(WorkloadFlags& f) {
  const auto kind = parse_mask_kind(f.mask_name);
  if (!kind) return bad_input("--mask: unknown mask kind \"" + f.mask_name + "\" (expected one of: " + all_mask_kind_names() + ")");
  f.mask.kind = *kind;
  return Ok{};
}

}  // namespace cpsim::cli
