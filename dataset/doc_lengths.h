// Reading a dataset's document lengths from a text, CSV, JSONL or NumPy .npy file, streamed in 64 KiB chunks so
// that memory is the lengths themselves (8 bytes each, at most 2^24 of them), never the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cpsim {

enum class LengthFormat { kText, kCsv, kJsonl, kNpy };

// "txt", "csv", "jsonl", "npy".
std::optional<LengthFormat> parse_length_format(std::string_view name);
std::string_view length_format_name(LengthFormat format);
// The format a file's extension names (.txt, .csv, .jsonl, .npy), or nothing.
std::optional<LengthFormat> length_format_of_path(const std::string& path);

struct LengthReadOptions {
  LengthFormat format = LengthFormat::kText;
  std::string column;  // csv: the header name of the column holding lengths (required)
  std::string field;   // jsonl: the member of each object holding a number, or an array whose size is the length
};

// Every document length in `path`, in file order. Each must be an integer from 1 to kMaxTokens (the largest
// workload); at most kMaxTokens documents; the file at most kMaxInputBytes and a regular file. Errors name the
// file and the line (text, CSV, JSONL) or the element (.npy), and quote the value:
//   "lengths.txt: line 3: expected a document length (a positive integer), got \"-5\""
Result<std::vector<std::int64_t>> read_doc_lengths(const std::string& path, const LengthReadOptions& options);

// The same on bytes already in memory (`source` names them in errors), fed to the reader `chunk_bytes` at a time
// (0: 64 KiB, as from a file): the tests feed odd sizes so that chunk boundaries fall everywhere.
Result<std::vector<std::int64_t>> parse_doc_lengths(std::string_view bytes, const std::string& source, const LengthReadOptions& options,
                                                    std::size_t chunk_bytes = 0);

}  // namespace cpsim
