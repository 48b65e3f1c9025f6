// Ranged, sourced numbers and tile shapes of hardware profiles.
#include "sim/profile_reader.h"

#include <cmath>

#include "core/limits.h"
#include "core/text_format.h"

namespace cpsim {

Result<const Json*> ProfileReader::entry(const Json& object, const std::string& field, std::string_view key, std::string* source,
                                         bool* estimate) const {
  auto node = rd_.member(object, field, key);
  if (!node) return node.error();
  const std::string path = FieldReader::join(field, key);
  if (auto ok = rd_.expect_object(**node, path); !ok) return ok.error();
  if (auto ok = rd_.expect_only_keys(**node, path, {"value", "source", "estimate"}); !ok) return ok.error();
  auto src = (*node)->find("source");
  if (src == (*node)->end()) return rd_.error(path + ".source", "missing: every number in a profile needs a source");
  auto text = rd_.string(*src, path + ".source");
  if (!text) return text.error();
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
    return rd_.error(path + ".source", "blank: every number in a profile needs a source");
  }
  *source = std::move(*text);
  *estimate = false;
  if (auto e = (*node)->find("estimate"); e != (*node)->end()) {
    if (!e->is_boolean()) return rd_.error(path + ".estimate", "expected true or false, got " + describe_value(*e));
    *estimate = e->get<bool>();
  }
  if (*estimate) estimates_.push_back(path);
  auto value = rd_.member(**node, path, "value");
  if (!value) return value.error();
  return *value;
}

Result<Sourced> ProfileReader::sourced(const Json& object, const std::string& field, std::string_view key, double max, double above,
                                       bool zero_allowed) const {
  Sourced out;
  CPSIM_ASSIGN_OR_RETURN(const Json* value, entry(object, field, key, &out.source, &out.estimate));
  const std::string path = FieldReader::join(field, key) + ".value";
  if (!value->is_number()) return rd_.error(path, "expected a number, got " + describe_value(*value));
  const double v = value->get<double>();
  if (zero_allowed && std::isfinite(v) && v < 0) return rd_.error(path, "must be zero or positive, got " + json_text(*value));
  if (!std::isfinite(v) || (v <= above && !(zero_allowed && v == 0))) {
    return rd_.error(path, (above == 0 ? std::string("must be a positive number") : "must be a number above " + format_number(above, "%g")) +
                               ", got " + json_text(*value));
  }
  if (v > max) return rd_.error(path, "must be at most " + format_number(max, "%g") + ", got " + json_text(*value));
  out.value = v;
  return out;
}

Result<double> ProfileReader::number(const Json& object, const std::string& field, std::string_view key, double max, double above) const {
  CPSIM_ASSIGN_OR_RETURN(const Sourced s, sourced(object, field, key, max, above));
  return s.value;
}

Result<std::int64_t> ProfileReader::count(const Json& object, const std::string& field, std::string_view key, double max) const {
  auto v = number(object, field, key, max);
  if (!v) return v.error();
  if (*v != std::floor(*v)) {
    return rd_.error(FieldReader::join(field, key) + ".value", "must be a whole number, got " + json_text(Json(*v)));
  }
  return static_cast<std::int64_t>(*v);
}

Result<std::array<std::int64_t, 2>> ProfileReader::tile(const Json& object, const std::string& field, std::string_view key) const {
  std::string source;
  bool estimate = false;
  CPSIM_ASSIGN_OR_RETURN(const Json* value, entry(object, field, key, &source, &estimate));
  const std::string path = FieldReader::join(field, key) + ".value";
  if (value->is_string() && value->get<std::string>() == "block") return std::array<std::int64_t, 2>{0, 0};
  const auto bad = [&] {
    return rd_.error(path, "expected [queries, keys] (multiples of 16 up to " + std::to_string(kMaxBlockSize) + ") or \"block\", got " +
                               describe_value(*value));
  };
  if (!value->is_array() || value->size() != 2) return bad();
  std::array<std::int64_t, 2> out{};
  for (std::size_t i = 0; i < 2; ++i) {
    const Json& n = (*value)[i];
    if (!n.is_number_integer()) return bad();
    const std::int64_t t = n.get<std::int64_t>();
    if (t < 16 || t > kMaxBlockSize || t % 16 != 0) return bad();
    out[i] = t;
  }
  return out;
}

Result<const Json*> ProfileReader::object(const Json& parent, const std::string& field, std::string_view key) const {
  auto node = rd_.member(parent, field, key);
  if (!node) return node.error();
  if (auto ok = rd_.expect_object(**node, FieldReader::join(field, key)); !ok) return ok.error();
  return node;
}

}  // namespace cpsim
