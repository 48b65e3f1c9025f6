// The workload: a batch of packed rows (document lengths), one mask kind and the model's attention
// shape. Everything else in cpsim (balancers, work accounting, plans) is derived from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "limits.h"
#include "result.h"

namespace cpsim {

enum class MaskKind {
  kCausal,
  kFull,
  kDocumentCausal,
  kDocumentFull,
  kSlidingWindow,
  kDocumentSlidingWindow,
  kPrefixLm,
};

// Name used in JSON files and on the command line ("document_causal", ...).
std::string_view mask_kind_name(MaskKind kind);
std::optional<MaskKind> parse_mask_kind(std::string_view name);
const std::vector<MaskKind>& all_mask_kinds();
std::string all_mask_kind_names();  // "causal, full, ..." for error messages

bool mask_uses_documents(MaskKind kind);
bool mask_needs_window(MaskKind kind);
bool mask_needs_prefix(MaskKind kind);

struct Mask {
  MaskKind kind = MaskKind::kCausal;
  // Sliding-window kinds: each query sees itself and the window-1 keys before it.
  std::int64_t window = 0;
  // prefix_lm: the first `prefix` tokens of a row attend to each other bidirectionally.
  std::int64_t prefix = 0;
};

struct ModelShape {
  std::int64_t q_heads = 32;
  std::int64_t kv_heads = 8;
  std::int64_t head_dim = 128;
  std::string dtype = "bf16";  // bf16, fp16, fp32
};

int dtype_bytes(std::string_view dtype);  // 0 for an unknown dtype

struct Workload {
  std::int64_t seq_len = 0;
  Mask mask;
  // One list of document lengths per batch row, each summing to seq_len.
  std::vector<std::vector<std::int64_t>> documents;
  ModelShape model;
  // Free text saying how the workload was made (a generator command, a data set).
  std::string description;

  std::int64_t rows() const { return static_cast<std::int64_t>(documents.size()); }
};

// Checks every invariant of a workload; `source` names the file in error messages.
Status validate_workload(const Workload& workload, const std::string& source);

}  // namespace cpsim
