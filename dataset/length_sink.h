// What the readers of document lengths share (dataset/doc_lengths.cpp's formats): the checks on each length, the
// byte-order mark a spreadsheet puts before a CSV, the splitting of chunks into lines, and a factory per format.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/result.h"

namespace cpsim::length_io {

// A line of a text file holds one number and perhaps a comment: 4 KiB is generous, and stops a file with no
// newline (a binary one) from being gathered whole before it is refused.
constexpr std::size_t kMaxTextLineBytes = 4096;
// A .npy header is a short Python dict (numpy pads it to 64 bytes, 128 at most for 1-D arrays).
constexpr std::size_t kMaxNpyHeaderBytes = std::size_t{1} << 16;

// A value from the file for an error message: at most 40 characters (report() escapes control characters).
inline std::string quote(std::string_view text) {
  if (text.size() > 40) return "\"" + std::string(text.substr(0, 37)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

inline std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// What every reader shares: the lengths, and the checks on each one (`where` is "line 3", "element 7").
class LengthSink {
 public:
  explicit LengthSink(std::string source) : source_(std::move(source)) {}
  virtual ~LengthSink() = default;
  virtual Status feed(std::string_view chunk) = 0;
  virtual Status finish() = 0;

  // Feeds a chunk of the file, leaving out a UTF-8 byte-order mark at its start (spreadsheets write one before a
  // CSV header) for the text formats.
  Status feed_file_bytes(std::string_view chunk, bool text) {
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    while (text && bom_checked_ < kBom.size() && !chunk.empty()) {
      if (chunk[0] != kBom[bom_checked_]) {
        // Not a byte-order mark after all: hand on what was held back, then the rest.
        const std::string held(kBom.substr(0, bom_checked_));
        bom_checked_ = kBom.size();
        CPSIM_RETURN_IF_ERROR(feed(held));
        break;
      }
      ++bom_checked_;
      chunk.remove_prefix(1);
    }
    return chunk.empty() ? Status(Ok{}) : feed(chunk);
  }
  Status finish_file(bool text) {
    if (text && bom_checked_ > 0 && bom_checked_ < 3) {  // the file was a part of a byte-order mark: hand it on
      const std::string held = std::string("\xEF\xBB\xBF").substr(0, bom_checked_);
      bom_checked_ = 3;
      CPSIM_RETURN_IF_ERROR(feed(held));
    }
    return finish();
  }

  std::vector<std::int64_t> take() { return std::move(lengths_); }

 protected:
  Error fail(const std::string& where, const std::string& what) const {
    return bad_input(source_ + ": " + (where.empty() ? "" : where + ": ") + what);
  }

  Status add(std::int64_t length, const std::string& where) {
    if (length <= 0) return fail(where, "a document length must be positive, got " + std::to_string(length));
    if (length > kMaxTokens) return too_long(where, std::to_string(length));
    if (static_cast<std::int64_t>(lengths_.size()) >= kMaxTokens) {
      return fail(where, "more than " + std::to_string(kMaxTokens) + " documents (2^24), the most a workload can hold; split the file");
    }
    lengths_.push_back(length);
    return Ok{};
  }

  // A length written as text: digits only (a minus sign is read so that the message can say "negative").
  Status add_text(std::string_view text, const std::string& where) {
    const bool minus = !text.empty() && text[0] == '-';
    const std::string_view digits = minus ? text.substr(1) : text;
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail(where, "expected a document length (a positive integer), got " + quote(text));
    }
    if (minus) return fail(where, "a document length must be positive, got " + std::string(text));
    const auto significant = digits.find_first_not_of('0');
    if (significant != std::string_view::npos && digits.size() - significant > 18) return too_long(where, std::string(text));
    std::int64_t value = 0;
    for (const char c : digits) value = value * 10 + (c - '0');
    return add(value, where);
  }

  Status too_long(const std::string& where, const std::string& value) const {
    return fail(where, "document length " + value + " is more than the " + std::to_string(kMaxTokens) +
                           " tokens (2^24) of the largest workload");
  }

  Status no_lengths(std::int64_t lines) const {
    if (lines == 0) return fail("", "no document lengths: the file is empty");
    return fail("", "no document lengths in its " + std::to_string(lines) + " line(s)");
  }

  std::string source_;
  std::vector<std::int64_t> lengths_;

 private:
  std::size_t bom_checked_ = 0;  // bytes of the file's start that matched a byte-order mark so far
};

// Splits chunks into lines ('\n'; a '\r' before it is the line's), handing each whole line to on_line.
class LineSink : public LengthSink {
 public:
  LineSink(std::string source, std::size_t max_line) : LengthSink(std::move(source)), max_line_(max_line) {}

  Status feed(std::string_view chunk) final {
    while (!chunk.empty()) {
      const auto nl = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, nl);
      if (partial_.size() + piece.size() > max_line_) {
        return fail("line " + std::to_string(line_ + 1), "longer than " + std::to_string(max_line_) + " bytes; " + too_long_hint());
      }
      if (nl == std::string_view::npos) {
        partial_.append(piece);
        return Ok{};
      }
      ++line_;
      if (partial_.empty()) {
        CPSIM_RETURN_IF_ERROR(on_line(piece));
      } else {
        partial_.append(piece);
        CPSIM_RETURN_IF_ERROR(on_line(partial_));
        partial_.clear();
      }
      chunk.remove_prefix(nl + 1);
    }
    return Ok{};
  }

  Status finish() final {
    if (!partial_.empty()) {  // a last line without a newline
      ++line_;
      CPSIM_RETURN_IF_ERROR(on_line(partial_));
      partial_.clear();
    }
    if (lengths_.empty()) return no_lengths(line_);
    return Ok{};
  }

 protected:
  virtual Status on_line(std::string_view line) = 0;
  virtual std::string too_long_hint() const = 0;
  std::string where() const { return "line " + std::to_string(line_); }

 private:
  std::size_t max_line_;
  std::string partial_;
  std::int64_t line_ = 0;
};


std::unique_ptr<LengthSink> make_text_sink(const std::string& source);
std::unique_ptr<LengthSink> make_csv_sink(const std::string& source, const std::string& column);
std::unique_ptr<LengthSink> make_jsonl_sink(const std::string& source, const std::string& field);
std::unique_ptr<LengthSink> make_npy_sink(const std::string& source);

}  // namespace cpsim::length_io
