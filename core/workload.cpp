// Mask-kind names and the invariants of a workload.
#include "workload.h"

#include <array>
#include <limits>

namespace cpsim {
namespace {

struct MaskName {
  MaskKind kind;
  std::string_view name;
};

constexpr std::array<MaskName, 7> kMaskNames{{
    {MaskKind::kCausal, "causal"},
    {MaskKind::kFull, "full"},
    {MaskKind::kDocumentCausal, "document_causal"},
    {MaskKind::kDocumentFull, "document_full"},
    {MaskKind::kSlidingWindow, "sliding_window"},
    {MaskKind::kDocumentSlidingWindow, "document_sliding_window"},
    {MaskKind::kPrefixLm, "prefix_lm"},
}};

}  // namespace

std::string_view mask_kind_name(MaskKind kind) {
  for (const auto& entry : kMaskNames) {
    if (entry.kind == kind) return entry.name;
  }
  return "unknown";
}

std::optional<MaskKind> parse_mask_kind(std::string_view name) {
  for (const auto& entry : kMaskNames) {
    if (entry.name == name) return entry.kind;
  }
  return std::nullopt;
}

const std::vector<MaskKind>& all_mask_kinds() {
  static const std::vector<MaskKind> kinds = [] {
    std::vector<MaskKind> out;
    for (const auto& entry : kMaskNames) out.push_back(entry.kind);
    return out;
  }();
  return kinds;
}

std::string all_mask_kind_names() {
  std::string out;
  for (const auto& entry : kMaskNames) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

bool mask_uses_documents(MaskKind kind) {
  return kind == MaskKind::kDocumentCausal || kind == MaskKind::kDocumentFull ||
         kind == MaskKind::kDocumentSlidingWindow;
}

bool mask_needs_window(MaskKind kind) {
  return kind == MaskKind::kSlidingWindow || kind == MaskKind::kDocumentSlidingWindow;
}

bool mask_needs_prefix(MaskKind kind) { return kind == MaskKind::kPrefixLm; }

int dtype_bytes(std::string_view dtype) {
  if (dtype == "bf16" || dtype == "fp16") return 2;
  if (dtype == "fp32") return 4;
  return 0;
}

Status validate_workload(const Workload& w, const std::string& source) {
  const std::string at = source + ": ";
  if (w.seq_len <= 0) {
    return bad_input(at + "seq_len: must be positive, got " + std::to_string(w.seq_len));
  }
  if (w.seq_len > kMaxTokens) {
    return bad_input(at + "seq_len: " + std::to_string(w.seq_len) + " exceeds the maximum " + std::to_string(kMaxTokens) +
                     " tokens (2^24)");
  }
  if (w.documents.empty()) return bad_input(at + "documents: needs at least one batch row, got []");
  // rows x seq_len <= 2^24: every count of pairs (<= tokens x seq_len <= 2^48) fits in 64 bits.
  if (static_cast<std::int64_t>(w.documents.size()) > kMaxTokens / w.seq_len) {
    return bad_input(at + "documents: " + std::to_string(w.documents.size()) + " rows of seq_len " + std::to_string(w.seq_len) +
                     " are more than the " + std::to_string(kMaxTokens) + " tokens (2^24) a workload may have");
  }
  for (std::size_t row = 0; row < w.documents.size(); ++row) {
    const auto& docs = w.documents[row];
    const std::string field = "documents[" + std::to_string(row) + "]";
    if (docs.empty()) return bad_input(at + field + ": a row needs at least one document, got []");
    std::int64_t sum = 0;
    for (std::size_t d = 0; d < docs.size(); ++d) {
      if (docs[d] <= 0) {
        return bad_input(at + field + "[" + std::to_string(d) + "]: document length must be positive, got " +
                         std::to_string(docs[d]));
      }
      if (docs[d] > w.seq_len - sum) {
        return bad_input(at + field + ": document lengths sum past seq_len " + std::to_string(w.seq_len) +
                         " at document " + std::to_string(d));
      }
      sum += docs[d];
    }
    if (sum != w.seq_len) {
      return bad_input(at + field + ": document lengths sum to " + std::to_string(sum) + ", not seq_len " +
                       std::to_string(w.seq_len));
    }
  }
  if (mask_needs_window(w.mask.kind) && w.mask.window <= 0) {
    return bad_input(at + "mask.window: must be a positive number of keys for " +
                     std::string(mask_kind_name(w.mask.kind)) + ", got " + std::to_string(w.mask.window));
  }
  if (mask_needs_prefix(w.mask.kind) && (w.mask.prefix < 0 || w.mask.prefix > w.seq_len)) {
    return bad_input(at + "mask.prefix: must be in [0, seq_len=" + std::to_string(w.seq_len) + "], got " +
                     std::to_string(w.mask.prefix));
  }
  const auto& m = w.model;
  if (m.q_heads <= 0 || m.q_heads > kMaxHeads) {
    return bad_input(at + "model.q_heads: must be from 1 to " + std::to_string(kMaxHeads) + ", got " + std::to_string(m.q_heads));
  }
  if (m.kv_heads <= 0 || m.kv_heads > kMaxHeads) {
    return bad_input(at + "model.kv_heads: must be from 1 to " + std::to_string(kMaxHeads) + ", got " + std::to_string(m.kv_heads));
  }
  if (m.q_heads % m.kv_heads != 0) {
    return bad_input(at + "model.kv_heads: " + std::to_string(m.kv_heads) + " does not divide q_heads " +
                     std::to_string(m.q_heads));
  }
  if (m.head_dim <= 0 || m.head_dim > kMaxHeadDim) {
    return bad_input(at + "model.head_dim: must be from 1 to " + std::to_string(kMaxHeadDim) + ", got " + std::to_string(m.head_dim));
  }
  if (dtype_bytes(m.dtype) == 0) {
    return bad_input(at + "model.dtype: unknown dtype \"" + m.dtype + "\" (expected bf16, fp16 or fp32)");
  }
  return Ok{};
}

}  // namespace cpsim
