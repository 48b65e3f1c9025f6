// JSON reading helpers with file/field/value error messages.
#include "json_fields.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace cpsim {

namespace {

// For parser errors that quote a literal but give no position (number overflow): "key: " of the member
// whose value the literal is, found by searching the text, or nothing.
std::string field_before_literal(std::string_view text, const std::string& what) {
  const auto open = what.find('\''), close = what.rfind('\'');
  if (open == std::string::npos || close <= open + 1) return "";
  const auto at = text.find(what.substr(open + 1, close - open - 1));
  if (at == std::string_view::npos) return "";
  const auto colon = text.rfind(':', at);
  if (colon == std::string_view::npos) return "";
  const auto key_end = text.rfind('"', colon);
  if (key_end == std::string_view::npos || key_end == 0) return "";
  const auto key_start = text.rfind('"', key_end - 1);
  if (key_start == std::string_view::npos) return "";
  return std::string(text.substr(key_start + 1, key_end - key_start - 1)) + ": ";
}

// Line and column of `at` in `text`, as the parser reports them.
std::string position(std::string_view text, std::size_t at) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') ++line, column = 1; else ++column;
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// Where `text` nests deeper than `limit` (outside strings), or npos.
std::size_t too_deep(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false; else if (c == '\\') escaped = true; else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string_view::npos;
}

struct DuplicateKey {
  std::string key;
};

}  // namespace

Result<Json> parse_json_text(std::string_view text, const std::string& source) {
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return bad_input(source + ": " + position(text, nul) + ": a NUL byte; a JSON file is text");
  }
  if (const auto deep = too_deep(text, kMaxJsonDepth); deep != std::string_view::npos) {
    return bad_input(source + ": " + position(text, deep) + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  // Keys of the objects being read, innermost last: a second one of a name would silently win.
  std::vector<std::vector<std::string>> keys;
  const Json::parser_callback_t no_duplicates = [&keys](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == Json::parse_event_t::key && !keys.empty()) {
      std::string key = parsed.get<std::string>();
      for (const std::string& k : keys.back()) {
        if (k == key) throw DuplicateKey{std::move(key)};
      }
      keys.back().push_back(std::move(key));
    }
    return true;
  };
  try {
    return Json::parse(text, no_duplicates);
  } catch (const DuplicateKey& d) {
    return bad_input(source + ": " + d.key + ": appears twice in one object (the second would silently win)");
  } catch (const Json::parse_error& e) {
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."; keep the useful part.
    std::string what = e.what();
    if (const auto pos = what.find("at line"); pos != std::string::npos) what = what.substr(pos + 3);
    if (what.empty() || text.empty()) what = "empty file, expected a JSON document";
    return bad_input(source + ": " + what);
  } catch (const Json::exception& e) {
    // Anything else the parser rejects, e.g. a number too large for a double ("1e999": out_of_range.406).
    std::string what = e.what();
    if (const auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return bad_input(source + ": " + field_before_literal(text, what) + what);
  }
}

Result<Json> read_json_file(const std::string& path, FileRole role) {
  CPSIM_ASSIGN_OR_RETURN(const std::string text, read_input_file(path, role));
  return parse_json_text(text, path);
}

std::string json_text(const Json& value, int indent) { return value.dump(indent, ' ', false, Json::error_handler_t::replace); }

std::string dump_members_per_line(const Json& object) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : object.items()) {
    out += first ? "\n  " : ",\n  ";
    first = false;
    out += json_text(Json(key));
    out += ": ";
    out += json_text(value);
  }
  out += "\n}\n";
  return out;
}

std::string content_digest(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string describe_value(const Json& value) {
  std::string text = json_text(value);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

Status FieldReader::expect_object(const Json& value, const std::string& field) const {
  if (!value.is_object()) return error(field.empty() ? "(top level)" : field, "expected an object, got " + describe_value(value));
  return Ok{};
}

Status FieldReader::expect_array(const Json& value, const std::string& field) const {
  if (!value.is_array()) return error(field, "expected an array, got " + describe_value(value));
  return Ok{};
}

Status FieldReader::expect_only_keys(const Json& object, const std::string& field,
                                     std::initializer_list<std::string_view> allowed) const {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (const auto name : allowed) known = known || key == name;
    if (!known) {
      std::string list;
      for (const auto name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
      return error(join(field, key), "unknown field (expected one of: " + list + ")");
    }
  }
  return Ok{};
}

Result<const Json*> FieldReader::member(const Json& object, const std::string& field, std::string_view key) const {
  const auto it = object.find(key);
  if (it == object.end()) return error(join(field, key), "missing");
  return &*it;
}

Result<std::int64_t> FieldReader::integer(const Json& value, const std::string& field) const {
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return error(field, "integer " + json_text(value) + " is too large");
    }
    return static_cast<std::int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return error(field, "expected an integer, got " + json_text(value) + " (write it without a decimal point)");
    }
    return error(field, "expected an integer, got " + json_text(value));
  }
  return error(field, "expected an integer, got " + describe_value(value));
}

Result<std::string> FieldReader::optional_string(const Json& object, const std::string& field, std::string_view key,
                                                 const std::string& fallback) const {
  const auto it = object.find(key);
  if (it == object.end()) return fallback;
  return string(*it, join(field, key));
}

Result<std::string> FieldReader::string(const Json& value, const std::string& field) const {
  if (!value.is_string()) return error(field, "expected a string, got " + describe_value(value));
  return value.get<std::string>();
}

}  // namespace cpsim
