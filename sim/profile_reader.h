// Reading a hardware profile's numbers: each is {"value", "source", "estimate"}, ranged, and sourced; the
// reader keeps the source and the estimate flag so that `cpsim kernels` and `cpsim validate` can show them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_fields.h"
#include "core/result.h"

namespace cpsim {

// A profile number with where it came from.
struct Sourced {
  double value = 0;
  std::string source;
  bool estimate = false;
};

class ProfileReader {
 public:
  explicit ProfileReader(const std::string& source) : rd_(source) {}

  // A {"value": number, "source": "...", "estimate": bool} entry above `above` (positive by default) and at most
  // `max`: every number has a range, so that no profile gives an infinite or NaN time. Estimates are recorded in
  // estimates() by their field path. `zero_allowed`: at least 0 instead of above 0.
  Result<Sourced> sourced(const Json& object, const std::string& field, std::string_view key, double max, double above = 0,
                          bool zero_allowed = false) const;
  Result<double> number(const Json& object, const std::string& field, std::string_view key, double max, double above = 0) const;
  Result<std::int64_t> count(const Json& object, const std::string& field, std::string_view key, double max) const;
  // A tile shape: {"value": [queries, keys], "source": ...}, or {"value": "block", ...} for the plan's block
  // (returned as {0, 0}).
  Result<std::array<std::int64_t, 2>> tile(const Json& object, const std::string& field, std::string_view key) const;
  Result<const Json*> object(const Json& parent, const std::string& field, std::string_view key) const;

  const FieldReader& fields() const { return rd_; }
  // The field paths of the numbers marked "estimate": true, in reading order.
  const std::vector<std::string>& estimates() const { return estimates_; }

 private:
  Result<const Json*> entry(const Json& object, const std::string& path, std::string_view key, std::string* source, bool* estimate) const;

  FieldReader rd_;
  mutable std::vector<std::string> estimates_;
};

}  // namespace cpsim
