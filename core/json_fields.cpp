// JSON reading helpers with file/field/value error messages, and atomic file writes.
#include "json_fields.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

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

}  // namespace

Result<Json> parse_json_text(std::string_view text, const std::string& source) {
  try {
    return Json::parse(text);
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

Result<Json> read_json_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return bad_input(path + ": cannot open: is a directory, expected a JSON file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad_input(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return bad_input(path + ": cannot read: " + std::strerror(errno));
  return parse_json_text(buffer.str(), path);
}

Status write_file_atomically(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return bad_input(path + ": cannot write: " + std::strerror(errno));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      const std::string reason = std::strerror(errno);
      std::remove(tmp.c_str());
      return bad_input(path + ": cannot write: " + reason);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    return bad_input(path + ": cannot write: " + reason);
  }
  return Ok{};
}

std::string dump_members_per_line(const Json& object) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : object.items()) {
    out += first ? "\n  " : ",\n  ";
    first = false;
    out += Json(key).dump();
    out += ": ";
    out += value.dump();
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
  std::string text = value.dump();
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
      return error(field, "integer " + value.dump() + " is too large");
    }
    return static_cast<std::int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return error(field, "expected an integer, got " + value.dump() + " (write it without a decimal point)");
    }
    return error(field, "expected an integer, got " + value.dump());
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
