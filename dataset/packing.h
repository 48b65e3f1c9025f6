// Packing a dataset's document lengths into batch rows of seq_len tokens, the ways data loaders do: concatenate
// and cut at row ends (Megatron-LM's GPTDataset, torchtitan), or first-fit / best-fit decreasing (no cutting).
// A row that is not full is padded with one padding document, so every row sums to seq_len as a workload needs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cpsim {

enum class PackStrategy {
  kConcat,             // file order, cut at row ends: a cut document's tail starts the next row as a document of its own
  kFirstFitDecreasing, // longest first, each into the first row with room: no document is cut
  kBestFitDecreasing,  // longest first, each into the row it fills most tightly: no document is cut
};

// "concat", "ffd", "best_fit".
std::optional<PackStrategy> parse_pack_strategy(std::string_view name);
std::string_view pack_strategy_name(PackStrategy strategy);

struct PackSpec {
  std::int64_t seq_len = 0;  // tokens per row, 1 to kMaxTokens
  PackStrategy strategy = PackStrategy::kConcat;
  // ffd and best_fit: a document longer than seq_len is cut into seq_len-token pieces (and the rest) instead of
  // refused. concat cuts at row ends anyway and ignores it.
  bool split_long = false;
  // The last row of the packing, when it is not full, is left out instead of padded (a loader's drop_last).
  bool drop_last = false;
  // Rows kept, the first ones in row order (1 to kMaxTokens); the rest are counted in stats.tokens_left_out.
  std::int64_t max_rows = 0;
  // Each document is padded up to a multiple of this before packing (Transformer Engine's THD layout pads every
  // sequence to a multiple of 2 x CP for its head-tail split); must divide seq_len.
  std::int64_t multiple_of = 1;
};

struct PackStats {
  std::int64_t documents_in = 0;
  std::int64_t tokens_in = 0;        // the sum of the lengths read
  std::int64_t longest_in = 0;
  std::int64_t rows_needed = 0;      // rows the whole input fills, before max_rows and drop_last
  std::int64_t tokens_placed = 0;    // tokens of the input in the rows kept
  std::int64_t row_padding = 0;      // tokens of the padding documents of the rows kept
  std::int64_t rounding_padding = 0; // tokens multiple_of added to the documents of the rows kept
  std::int64_t documents_cut = 0;    // documents of the input that the rows kept hold as more than one piece, or a part
  std::int64_t tokens_left_out = 0;  // tokens of the input in rows not kept; tokens_placed + tokens_left_out == tokens_in
  bool last_row_dropped = false;     // drop_last left out a row that was not full

  std::int64_t padding() const { return row_padding + rounding_padding; }
};

// Rows in one flat array (a row is a range of it), so a million rows cost 8 bytes each plus their documents.
class PackedRows {
 public:
  std::int64_t seq_len = 0;
  PackStats stats;

  std::int64_t rows() const { return static_cast<std::int64_t>(begin_.size()) - 1; }
  // The documents of row r in order; when the row is not full, its last is the padding document.
  std::span<const std::int64_t> row(std::int64_t r) const;
  // Tokens of padding (the padding document) at the end of row r, 0 for a full row.
  std::int64_t row_padding(std::int64_t r) const { return padding_[static_cast<std::size_t>(r)]; }
  // Rows [first, first + count) as a workload's `documents`.
  std::vector<std::vector<std::int64_t>> documents(std::int64_t first, std::int64_t count) const;

  void add_row(std::span<const std::int64_t> documents, std::int64_t padding);

 private:
  std::vector<std::int64_t> lengths_;
  std::vector<std::int64_t> begin_{0};
  std::vector<std::int64_t> padding_;
};

// Packs `lengths` (each 1 to kMaxTokens, as read_doc_lengths gives them) by `spec`. `source` names the input in
// errors: a document longer than seq_len for ffd or best_fit without split_long, more than kMaxTokens pieces, or
// drop_last leaving nothing.
Result<PackedRows> pack_documents(const std::vector<std::int64_t>& lengths, const PackSpec& spec, const std::string& source);

// The documents as given: one row of all of them (each padded up to multiple_of), seq_len their sum, which must
// be at most kMaxTokens.
Result<PackedRows> pack_as_given(const std::vector<std::int64_t>& lengths, std::int64_t multiple_of, const std::string& source);

}  // namespace cpsim
