// Reading JSON documents with errors that name the file, the field and the value:
// "<file>: <field>: <what is wrong, and the value>". Used by every parser in core. Documents are bounded:
// at most kMaxJsonDepth levels of nesting, no NUL byte, no key twice in one object.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "file_io.h"
#include "result.h"

namespace cpsim {

using Json = nlohmann::ordered_json;

// Reads (read_input_file) and parses a whole file; syntax errors report line and column.
Result<Json> read_json_file(const std::string& path, FileRole role = FileRole::kInput);
Result<Json> parse_json_text(std::string_view text, const std::string& source);

// A document as text (indent < 0: compact). Strings that are not UTF-8 (a file name from the command line may be
// any bytes) are written with U+FFFD in place of the bad bytes instead of throwing.
std::string json_text(const Json& value, int indent = -1);

// One top-level member per line, values compact: readable, diffable, and small for long arrays.
std::string dump_members_per_line(const Json& object);

// A stable 64-bit digest (FNV-1a) of some text: "fnv1a64:<16 hex digits>". Plans name their workload by it,
// batch runs their hardware profile.
std::string content_digest(std::string_view text);

// A short rendering of a JSON value for error messages (at most ~40 characters).
std::string describe_value(const Json& value);

class FieldReader {
 public:
  explicit FieldReader(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }

  Error error(const std::string& field, const std::string& what) const {
    return bad_input(source_ + ": " + field + ": " + what);
  }

  Status expect_object(const Json& value, const std::string& field) const;
  Status expect_array(const Json& value, const std::string& field) const;
  // Fails on keys outside `allowed` (catches typos such as "seq_length").
  Status expect_only_keys(const Json& object, const std::string& field, std::initializer_list<std::string_view> allowed) const;

  // Member `key` of `object` (whose path is `field`); a missing member is an error.
  Result<const Json*> member(const Json& object, const std::string& field, std::string_view key) const;

  Result<std::int64_t> integer(const Json& value, const std::string& field) const;
  Result<std::string> string(const Json& value, const std::string& field) const;
  // Member `key` of `object` as a string, or `fallback` when it is absent (a non-string is an error).
  Result<std::string> optional_string(const Json& object, const std::string& field, std::string_view key,
                                      const std::string& fallback) const;

  static std::string join(const std::string& field, std::string_view key) {
    return field.empty() ? std::string(key) : field + "." + std::string(key);
  }
  static std::string index(const std::string& field, std::size_t i) { return field + "[" + std::to_string(i) + "]"; }

 private:
  std::string source_;
};

}  // namespace cpsim
