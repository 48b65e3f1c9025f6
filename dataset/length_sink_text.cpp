// The line-based readers of document lengths: plain text, CSV (RFC 4180) and JSONL (read as SAX events).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "dataset/length_sink.h"

namespace cpsim::length_io {
namespace {

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

}  // namespace

std::unique_ptr<LengthSink> make_text_sink(const std::string& source) { return std::make_unique<TextSink>(source); }
std::unique_ptr<LengthSink> make_csv_sink(const std::string& source, const std::string& column) {
  return std::make_unique<CsvSink>(source, column);
}
std::unique_ptr<LengthSink> make_jsonl_sink(const std::string& source, const std::string& field) {
  return std::make_unique<JsonlSink>(source, field);
}

}  // namespace cpsim::length_io
