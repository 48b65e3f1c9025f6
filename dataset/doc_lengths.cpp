// The four readers of document lengths, each fed the file in chunks (a chunk may end anywhere, even inside a
// number or a quoted field), so a 512 MiB file costs 64 KiB of buffer plus 8 bytes a document.
#include "dataset/doc_lengths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/limits.h"

namespace cpsim {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{1} << 16;
// A line of a text file holds one number and perhaps a comment: 4 KiB is generous, and stops a file with no
// newline (a binary one) from being gathered whole before it is refused.
constexpr std::size_t kMaxTextLineBytes = 4096;
// A .npy header is a short Python dict (numpy pads it to 64 bytes, 128 at most for 1-D arrays).
constexpr std::size_t kMaxNpyHeaderBytes = std::size_t{1} << 16;

// A value from the file for an error message: at most 40 characters (report() escapes control characters).
std::string quote(std::string_view text) {
  if (text.size() > 40) return "\"" + std::string(text.substr(0, 37)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

std::string_view trim(std::string_view s) {
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

// One integer a line; blank lines and '#' comments (whole lines or after the number) are skipped.
class TextSink final : public LineSink {
 public:
  explicit TextSink(std::string source) : LineSink(std::move(source), kMaxTextLineBytes) {}

 private:
  Status on_line(std::string_view line) override {
    if (line.find('\0') != std::string_view::npos) {
      return fail(where(), "a NUL byte: a file of lengths is text, one a line (a binary file? .npy files need the .npy extension or --format npy)");
    }
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) return Ok{};
    return add_text(line, where());
  }
  std::string too_long_hint() const override { return "expected one document length a line (is it a binary file?)"; }
};

// CSV per RFC 4180: a header row naming the columns, fields separated by commas, quoted fields (which may hold
// commas, doubled quotes and newlines). Only the header's names and the chosen column's field are kept.
class CsvSink final : public LengthSink {
 public:
  CsvSink(std::string source, std::string column) : LengthSink(std::move(source)), column_(std::move(column)) {}

  Status feed(std::string_view chunk) override {
    for (const char c : chunk) {
      if (c == '\0') return fail("line " + std::to_string(line_), "a NUL byte: a CSV file is text (a binary file?)");
      if (quoted_) {
        if (after_quote_) {
          after_quote_ = false;
          if (c == '"') {  // a doubled quote: one quote of the field
            keep('"');
            continue;
          }
          quoted_ = false;  // the closing quote; c is handled as outside quotes below
        } else {
          if (c == '"') {
            after_quote_ = true;
          } else {
            if (c == '\n') ++line_;
            keep(c);
          }
          continue;
        }
      }
      if (c == '"' && field_empty_) {
        quoted_ = true;
        field_empty_ = false;
        record_blank_ = false;
      } else if (c == ',') {
        CPSIM_RETURN_IF_ERROR(end_field());
      } else if (c == '\n') {
        CPSIM_RETURN_IF_ERROR(end_record());
        ++line_;
        record_line_ = line_;
      } else if (c == '\r') {
        // part of "\r\n" (kept out of the field); a lone '\r' inside a field is dropped too
      } else {
        keep(c);
        field_empty_ = false;
        if (c != ' ' && c != '\t') record_blank_ = false;
      }
    }
    return Ok{};
  }

  Status finish() override {
    if (quoted_ && !after_quote_) {
      return fail("line " + std::to_string(record_line_), "a quoted field is not closed before the end of the file");
    }
    quoted_ = false;
    after_quote_ = false;
    CPSIM_RETURN_IF_ERROR(end_record());
    if (!have_header_) return no_lengths(0);
    if (lengths_.empty()) return fail("", "no document lengths: only the header row");
    return Ok{};
  }

 private:
  void keep(char c) {
    // The header's names and the chosen column's field; every other field is only counted. A name or a length
    // longer than 4 KiB is cut (it is refused as it is anyway).
    if ((!have_header_ || field_ == target_) && text_.size() < kMaxTextLineBytes) text_ += c;
  }

  Status end_field() {
    if (!have_header_) {
      names_.push_back(std::string(trim(text_)));
    } else if (field_ == target_) {
      value_ = text_;
      have_value_ = true;
    }
    text_.clear();
    ++field_;
    field_empty_ = true;
    return Ok{};
  }

  Status end_record() {
    const bool blank = record_blank_ && field_ == 0;
    if (!blank) CPSIM_RETURN_IF_ERROR(end_field());
    const std::int64_t fields = field_;
    field_ = 0;
    field_empty_ = true;
    record_blank_ = true;
    text_.clear();
    if (blank) return Ok{};  // blank lines carry no record
    if (!have_header_) {
      have_header_ = true;
      return choose_column();
    }
    const std::string where = "line " + std::to_string(record_line_);
    if (!have_value_) {
      return fail(where, "column \"" + column_ + "\" is field " + std::to_string(target_ + 1) + " of the header, but this row has " +
                             std::to_string(fields) + " field(s)");
    }
    have_value_ = false;
    return add_text(trim(value_), where + ": " + column_);
  }

  Status choose_column() {
    std::string list;
    for (std::size_t i = 0; i < names_.size() && i < 12; ++i) list += (i ? ", " : "") + quote(names_[i]);
    if (names_.size() > 12) list += ", ...";
    if (column_.empty()) {
      if (names_.size() == 1) {  // one column: it can only be that one
        column_ = names_[0];
        target_ = 0;
        return Ok{};
      }
      return fail("--column", "a CSV file needs --column NAME, the header name of the column of lengths (columns: " + list + ")");
    }
    const auto it = std::find(names_.begin(), names_.end(), column_);
    if (it == names_.end()) return fail("--column", "no column " + quote(column_) + " in the header (columns: " + list + ")");
    target_ = static_cast<std::int64_t>(it - names_.begin());
    return Ok{};
  }

  std::string column_;
  std::int64_t target_ = -1;
  std::vector<std::string> names_;
  bool have_header_ = false;
  std::string text_, value_;
  bool have_value_ = false;
  std::int64_t field_ = 0;
  bool field_empty_ = true, record_blank_ = true, quoted_ = false, after_quote_ = false;
  std::int64_t line_ = 1, record_line_ = 1;
};

// One JSON line read as SAX events: nothing is built, so a line of 100,000 token ids costs no memory beyond the
// line. The line is a number, or an object whose member `field` is a number or an array (its size is taken).
class JsonLineEvents : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit JsonLineEvents(const std::string& field) : field_(field) {}

  std::int64_t length = 0;
  bool have_length = false;
  bool from_field = false;  // the length is the member's (not the whole line's)
  std::string error;        // what is wrong, set when a callback returns false

  bool null() override { return scalar("null"); }
  bool boolean(bool v) override { return scalar(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return number(v); }
  bool number_unsigned(number_unsigned_t v) override {
    return number(v > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(v));
  }
  bool number_float(number_float_t v, const string_t& text) override {
    if (wanted()) {
      return refuse("expected an integer number of tokens, got " + text +
                    (std::isfinite(v) && v == std::floor(v) ? " (write it without a decimal point)" : ""));
    }
    return element();
  }
  bool string(string_t& v) override {
    if (wanted()) {
      return refuse("expected a number of tokens (or an array of token ids), got the string " + quote(v) +
                    "; cpsim import reads token counts, not text");
    }
    return element();
  }
  bool binary(binary_t&) override { return element(); }
  bool start_object(std::size_t) override {
    if (at_target()) return refuse("expected a number of tokens or an array of token ids, got an object");
    if (depth_ == 0) root_object_ = true;
    return element() && open();
  }
  bool key(string_t& k) override {
    if (depth_ == 1) {
      target_key_ = !field_.empty() && k == field_;
      if (target_key_ && seen_target_) {
        target_key_ = false;
        return refuse("member " + quote(field_) + " appears twice in one object");
      }
      seen_target_ = seen_target_ || target_key_;
      if (key_count_++ < 12) keys_ += (keys_.empty() ? "" : ", ") + quote(k);
    }
    return true;
  }
  bool end_object() override {
    --depth_;
    if (depth_ == 0) {
      target_key_ = false;
      if (field_.empty()) {
        return refuse("an object: name the member holding each document's length with --field (members: " + keys_ + ")");
      }
      if (!seen_target_) return refuse("no member " + quote(field_) + " (members: " + keys_ + ")");
    }
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) return refuse("an array: expected a number, or an object with --field naming the member that holds the length");
    const bool target = at_target();
    if (!element() || !open()) return false;
    if (target) {
      counting_ = true;
      count_ = 0;
    }
    return true;
  }
  bool end_array() override {
    --depth_;
    if (depth_ == 1 && counting_) {
      counting_ = false;
      target_key_ = false;
      length = count_;
      have_length = true;
      from_field = true;
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    std::string what = e.what();
    if (const auto at = what.find("column "); at != std::string::npos) what = what.substr(at);
    error = what;
    return false;
  }

 private:
  bool at_target() const { return depth_ == 1 && root_object_ && target_key_; }
  bool wanted() const { return depth_ == 0 || at_target(); }
  // A value inside the array being counted (its direct elements only).
  bool element() {
    if (depth_ == 2 && counting_) ++count_;
    return true;
  }
  bool open() {
    if (++depth_ > kMaxJsonDepth) return refuse("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return true;
  }
  bool refuse(const std::string& what) {
    error = (at_target() ? field_ + ": " : std::string()) + what;
    return false;
  }
  bool number(std::int64_t v) {
    if (!wanted()) return element();
    from_field = depth_ == 1;
    target_key_ = false;
    length = v;
    have_length = true;
    return true;
  }
  bool scalar(const char* name) {
    if (wanted()) return refuse(std::string("expected a number of tokens, got ") + name);
    return element();
  }

  const std::string& field_;
  int depth_ = 0;
  bool root_object_ = false, target_key_ = false, seen_target_ = false, counting_ = false;
  std::int64_t count_ = 0;
  int key_count_ = 0;
  std::string keys_;
};

// JSONL: one JSON value a line (blank lines skipped). A line may be as long as the file.
class JsonlSink final : public LineSink {
 public:
  JsonlSink(std::string source, std::string field)
      : LineSink(std::move(source), static_cast<std::size_t>(kMaxInputBytes)), field_(std::move(field)) {}

 private:
  Status on_line(std::string_view line) override {
    if (trim(line).empty()) return Ok{};
    if (line.find('\0') != std::string_view::npos) return fail(where(), "a NUL byte: a JSONL file is text (a binary file?)");
    JsonLineEvents events(field_);
    nlohmann::json::sax_parse(line.begin(), line.end(), &events);
    if (!events.error.empty()) return fail(where(), events.error);
    if (!events.have_length) return fail(where(), "no length on this line");
    return add(events.length, where() + (events.from_field ? ": " + field_ : ""));
  }
  std::string too_long_hint() const override { return "more than cpsim reads"; }

  std::string field_;
};

// NumPy .npy (format versions 1 to 3): the magic "\x93NUMPY", a version, the header's length, a Python dict
// {'descr': '<i8', 'fortran_order': False, 'shape': (N,)}, then N items. Integer dtypes of 1, 2, 4 or 8 bytes,
// either byte order; a float, bool, object or structured dtype, or a shape of other than one dimension, is refused.
class NpySink final : public LengthSink {
 public:
  using LengthSink::LengthSink;

  Status feed(std::string_view chunk) override {
    if (!header_done_) {
      const std::size_t want = std::min(chunk.size(), kMaxNpyHeaderBytes + 12 - head_.size());
      head_.append(chunk.substr(0, want));
      CPSIM_RETURN_IF_ERROR(try_header());
      if (!header_done_) {
        if (want < chunk.size()) return fail("header", "longer than " + std::to_string(kMaxNpyHeaderBytes) + " bytes; not a NumPy header");
        return Ok{};
      }
      // What came after the header is data.
      const std::string data = head_.substr(header_end_);
      head_.clear();
      CPSIM_RETURN_IF_ERROR(feed_data(data));
      return feed_data(chunk.substr(want));
    }
    return feed_data(chunk);
  }

  Status finish() override {
    if (!header_done_) {
      CPSIM_RETURN_IF_ERROR(try_header(true));
    }
    if (data_bytes_ != count_ * itemsize_ || !carry_.empty()) {
      return size_mismatch();
    }
    if (count_ == 0) return fail("shape", "(0,): no documents");
    return Ok{};
  }

 private:
  Status try_header(bool at_end = false) {
    if (head_.size() < 10) {
      if (at_end && head_.empty()) return no_lengths(0);
      if (at_end) {
        if (head_.rfind("\x93NUMPY", 0) != 0 && std::string_view("\x93NUMPY").rfind(head_, 0) != 0) return not_npy();
        return fail("header", "truncated: the file ends after " + std::to_string(head_.size()) + " bytes, inside the .npy preamble");
      }
      return Ok{};
    }
    if (head_.compare(0, 6, "\x93NUMPY") != 0) return not_npy();
    const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(head_[i])); };
    const std::uint32_t major = byte(6);
    std::size_t preamble = 10;
    std::uint64_t header_len = 0;
    if (major == 1) {
      header_len = byte(8) | byte(9) << 8;
    } else if (major == 2 || major == 3) {
      if (head_.size() < 12) return at_end ? fail("header", "truncated inside the .npy preamble") : Status(Ok{});
      preamble = 12;
      header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | static_cast<std::uint64_t>(byte(11)) << 24;
    } else {
      return fail("header", "format version " + std::to_string(major) + "." + std::to_string(byte(7)) + " (cpsim reads versions 1 to 3)");
    }
    if (header_len > kMaxNpyHeaderBytes) {
      return fail("header", "says it is " + std::to_string(header_len) + " bytes long; a NumPy header is a short dict (at most " +
                                std::to_string(kMaxNpyHeaderBytes) + " bytes here)");
    }
    if (head_.size() < preamble + header_len) {
      if (at_end) {
        return fail("header", "says it is " + std::to_string(header_len) + " bytes long, but the file ends " +
                                  std::to_string(head_.size() - preamble) + " bytes into it");
      }
      return Ok{};
    }
    header_end_ = preamble + static_cast<std::size_t>(header_len);
    CPSIM_RETURN_IF_ERROR(parse_dict(std::string_view(head_).substr(preamble, static_cast<std::size_t>(header_len))));
    header_done_ = true;
    return Ok{};
  }

  Status not_npy() const { return fail("", "not a NumPy .npy file (it does not start with \"\\x93NUMPY\")"); }

  // The value of 'key' in the dict: the text up to the next top-level ',' or '}'.
  static std::string_view dict_value(std::string_view dict, std::string_view key) {
    for (const char q : {'\'', '"'}) {
      const std::string quoted = std::string(1, q) + std::string(key) + std::string(1, q);
      auto at = dict.find(quoted);
      if (at == std::string_view::npos) continue;
      at = dict.find(':', at + quoted.size());
      if (at == std::string_view::npos) return {};
      std::size_t end = at + 1;
      int nesting = 0;
      char in_string = 0;
      for (; end < dict.size(); ++end) {
        const char c = dict[end];
        if (in_string) {
          if (c == in_string) in_string = 0;
        } else if (c == '\'' || c == '"') {
          in_string = c;
        } else if (c == '(' || c == '[' || c == '{') {
          ++nesting;
        } else if (c == ')' || c == ']' || c == '}') {
          if (nesting == 0) break;
          --nesting;
        } else if (c == ',' && nesting == 0) {
          break;
        }
      }
      return trim(dict.substr(at + 1, end - at - 1));
    }
    return {};
  }

  Status parse_dict(std::string_view dict) {
    const std::string_view text = trim(dict.substr(0, dict.find_last_not_of(" \n") + 1));  // np.save pads with spaces and a newline
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
      return fail("header", "is not a Python dict: " + quote(text));
    }
    const std::string_view descr = dict_value(text, "descr");
    const std::string_view order = dict_value(text, "fortran_order");
    const std::string_view shape = dict_value(text, "shape");
    if (descr.empty() || order.empty() || shape.empty()) {
      return fail("header", "needs 'descr', 'fortran_order' and 'shape', got " + quote(text));
    }
    if (descr.size() < 4 || (descr.front() != '\'' && descr.front() != '"') || descr.back() != descr.front()) {
      return fail("descr", "a structured dtype " + quote(descr) + "; give a 1-D array of integers");
    }
    const std::string_view type = descr.substr(1, descr.size() - 2);
    CPSIM_RETURN_IF_ERROR(parse_dtype(type));
    if (order != "False" && order != "True") return fail("fortran_order", "expected True or False, got " + quote(order));
    // fortran_order True is the same bytes as C order for one dimension (more are refused by shape): accepted.
    return parse_shape(shape);
  }

  Status parse_dtype(std::string_view type) {
    const std::string t(type);
    const char order = type[0], kind = type.size() > 1 ? type[1] : '?';
    int size = 0;
    for (const char c : type.substr(2)) {
      if (c < '0' || c > '9' || size > 1000) {
        size = -1;
        break;
      }
      size = size * 10 + (c - '0');
    }
    const std::string hint = "; save the lengths as integers, e.g. np.save(path, lengths.astype(np.int64))";
    if (kind == 'f' || kind == 'c') return fail("descr", "dtype " + quote(t) + " is floating point: document lengths must be integers" + hint);
    if (kind == 'O') return fail("descr", "dtype " + quote(t) + " holds Python objects: document lengths must be integers" + hint);
    if (kind != 'i' && kind != 'u') return fail("descr", "dtype " + quote(t) + " is not an integer dtype" + hint);
    if (size != 1 && size != 2 && size != 4 && size != 8) return fail("descr", "dtype " + quote(t) + ": integers of 1, 2, 4 or 8 bytes only");
    if (order == '<' || order == '|' || (order == '=' && little_endian_host())) {
      big_endian_ = false;
    } else if (order == '>' || order == '=') {
      big_endian_ = true;
    } else {
      return fail("descr", "dtype " + quote(t) + ": unknown byte order " + quote(type.substr(0, 1)));
    }
    if (size > 1 && order == '|') return fail("descr", "dtype " + quote(t) + ": a multi-byte integer needs a byte order (< or >)");
    signed_ = kind == 'i';
    itemsize_ = size;
    dtype_ = t;
    return Ok{};
  }

  Status parse_shape(std::string_view shape) {
    if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') return fail("shape", "expected a tuple, got " + quote(shape));
    std::vector<std::string_view> dims;
    std::string_view inner = shape.substr(1, shape.size() - 2);
    while (!trim(inner).empty()) {
      const auto comma = inner.find(',');
      dims.push_back(trim(inner.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      inner.remove_prefix(comma + 1);
    }
    if (dims.size() != 1) {
      return fail("shape", std::to_string(dims.size()) + "-D array of shape " + std::string(shape) +
                               "; give a 1-D array, one length per document (arr.ravel() if it holds one length per document)");
    }
    const std::string_view d = dims[0];
    if (d.empty() || d.size() > 18 || d.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail("shape", "expected a count of elements, got " + quote(shape));
    }
    std::int64_t n = 0;
    for (const char c : d) n = n * 10 + (c - '0');
    if (n > kMaxTokens) {
      return fail("shape", std::string(shape) + ": more than " + std::to_string(kMaxTokens) + " documents (2^24), the most a workload can hold");
    }
    count_ = n;
    shape_ = std::string(shape);
    lengths_.reserve(static_cast<std::size_t>(n));
    return Ok{};
  }

  static bool little_endian_host() {
    const std::uint16_t one = 1;
    unsigned char first = 0;
    std::memcpy(&first, &one, 1);
    return first == 1;
  }

  Status size_mismatch() const {
    return fail("shape", shape_ + " of " + dtype_ + " needs " + std::to_string(count_ * itemsize_) + " bytes of data after the header, the file has " +
                             std::to_string(data_bytes_));
  }

  Status feed_data(std::string_view data) {
    if (data.empty()) return Ok{};
    if (overflow_) {
      data_bytes_ += static_cast<std::int64_t>(data.size());
      return Ok{};
    }
    data_bytes_ += static_cast<std::int64_t>(data.size());
    if (data_bytes_ > count_ * itemsize_) {
      // More data than the header says: counted to the end, so the message gives the file's real size.
      overflow_ = true;
      return Ok{};
    }
    const auto item = static_cast<std::size_t>(itemsize_);
    auto take = [&](const unsigned char* p) -> Status {
      std::uint64_t v = 0;
      for (std::size_t b = 0; b < item; ++b) v |= static_cast<std::uint64_t>(p[big_endian_ ? b : item - 1 - b]) << (8 * (item - 1 - b));
      const std::string where = "element " + std::to_string(lengths_.size());
      if (signed_ && item < 8 && (v >> (8 * item - 1)) & 1) v |= ~std::uint64_t{0} << (8 * item);  // sign-extend
      if (!signed_ && v > static_cast<std::uint64_t>(INT64_MAX)) return too_long(where, std::to_string(v));
      return add(static_cast<std::int64_t>(v), where);
    };
    if (!carry_.empty()) {
      const std::size_t need = item - carry_.size();
      carry_.append(data.substr(0, need));
      data.remove_prefix(std::min(need, data.size()));
      if (carry_.size() < item) return Ok{};
      CPSIM_RETURN_IF_ERROR(take(reinterpret_cast<const unsigned char*>(carry_.data())));
      carry_.clear();
    }
    const std::size_t whole = data.size() / item * item;
    for (std::size_t at = 0; at < whole; at += item) {
      CPSIM_RETURN_IF_ERROR(take(reinterpret_cast<const unsigned char*>(data.data() + at)));
    }
    carry_.assign(data.substr(whole));
    return Ok{};
  }

  std::string head_;
  bool header_done_ = false;
  std::size_t header_end_ = 0;
  std::string dtype_, shape_;
  bool big_endian_ = false, signed_ = true;
  std::int64_t itemsize_ = 1, count_ = 0, data_bytes_ = 0;
  std::string carry_;  // an item split between two chunks
  bool overflow_ = false;
};

std::unique_ptr<LengthSink> make_sink(const std::string& source, const LengthReadOptions& o) {
  switch (o.format) {
    case LengthFormat::kText: return std::make_unique<TextSink>(source);
    case LengthFormat::kCsv: return std::make_unique<CsvSink>(source, o.column);
    case LengthFormat::kJsonl: return std::make_unique<JsonlSink>(source, o.field);
    case LengthFormat::kNpy: return std::make_unique<NpySink>(source);
  }
  return nullptr;
}

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

struct NamedFormat {
  LengthFormat format;
  std::string_view name;
};
constexpr NamedFormat kFormats[] = {
    {LengthFormat::kText, "txt"}, {LengthFormat::kCsv, "csv"}, {LengthFormat::kJsonl, "jsonl"}, {LengthFormat::kNpy, "npy"}};

}  // namespace

std::optional<LengthFormat> parse_length_format(std::string_view name) {
  for (const auto& f : kFormats) {
    if (f.name == name) return f.format;
  }
  return std::nullopt;
}

std::string_view length_format_name(LengthFormat format) {
  for (const auto& f : kFormats) {
    if (f.format == format) return f.name;
  }
  return "unknown";
}

std::optional<LengthFormat> length_format_of_path(const std::string& path) {
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return std::nullopt;
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "text" || ext == "lengths") return LengthFormat::kText;
  if (ext == "ndjson") return LengthFormat::kJsonl;
  return parse_length_format(ext);
}

Result<std::vector<std::int64_t>> parse_doc_lengths(std::string_view bytes, const std::string& source, const LengthReadOptions& options,
                                                    std::size_t chunk_bytes) {
  auto sink = make_sink(source, options);
  const bool text = options.format != LengthFormat::kNpy;
  if (chunk_bytes == 0) chunk_bytes = kChunkBytes;
  for (std::size_t at = 0; at < bytes.size(); at += chunk_bytes) CPSIM_RETURN_IF_ERROR(sink->feed_file_bytes(bytes.substr(at, chunk_bytes), text));
  CPSIM_RETURN_IF_ERROR(sink->finish_file(text));
  return sink->take();
}

Result<std::vector<std::int64_t>> read_doc_lengths(const std::string& path, const LengthReadOptions& options) {
  // The checks of read_input_file (core/file_io.h), on a file read in chunks rather than whole. O_NONBLOCK: a FIFO
  // nobody writes must not hang the open; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return bad_input(path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return bad_input(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return bad_input(path + ": cannot open: is a directory, expected a file of document lengths");
  if (!S_ISREG(st.st_mode)) return bad_input(path + ": cannot read: is " + file_kind(st.st_mode) + "; cpsim reads regular files");
  if (st.st_size > kMaxInputBytes) {
    return bad_input(path + ": cannot read: " + std::to_string(st.st_size) + " bytes, more than the " + std::to_string(kMaxInputBytes >> 20) +
                     " MiB cpsim reads");
  }
  auto sink = make_sink(path, options);
  const bool text = options.format != LengthFormat::kNpy;
  std::vector<char> buffer(kChunkBytes);
  std::int64_t total = 0;
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return bad_input(path + ": cannot read: " + std::strerror(errno));
    if (n == 0) break;
    total += n;
    if (total > kMaxInputBytes) {
      return bad_input(path + ": cannot read: grew past the " + std::to_string(kMaxInputBytes >> 20) + " MiB cpsim reads");
    }
    CPSIM_RETURN_IF_ERROR(sink->feed_file_bytes(std::string_view(buffer.data(), static_cast<std::size_t>(n)), text));
  }
  CPSIM_RETURN_IF_ERROR(sink->finish_file(text));
  return sink->take();
}

}  // namespace cpsim
