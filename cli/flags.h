// Strict checks on flag values, before CLI11 converts them: integers in plain decimal (CLI11 reads "010" as
// octal 8 and "-5" into an unsigned as 2^64 - 5), finite numbers in a range, non-empty paths.
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "core/text_format.h"

namespace cpsim::cli {

// A decimal integer from `lo` to `hi`: an optional minus (when lo < 0), digits, no leading zero.
inline CLI::Validator decimal(std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
                              std::int64_t hi = std::numeric_limits<std::int64_t>::max()) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        const bool minus = !s.empty() && s[0] == '-';
        const std::string digits = minus ? s.substr(1) : s;
        const bool plain = !digits.empty() && digits.size() <= 19 && digits.find_first_not_of("0123456789") == std::string::npos &&
                           (digits == "0" || digits[0] != '0');
        if (!plain || (minus && lo >= 0)) {
          return printable(s) + " is not " + (lo >= 0 ? "a non-negative" : "an") + " integer in plain decimal";
        }
        long double v = std::stold(s);
        if (v < static_cast<long double>(lo) || v > static_cast<long double>(hi)) {
          return printable(s) + " is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + ")";
        }
        return std::string();
      },
      "INT");
}

// A finite number from `lo` to `hi`.
inline CLI::Validator finite(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return printable(s) + " is not a finite number";
        if (v < lo || v > hi) return printable(s) + " is out of range (" + format_number(lo, "%g") + " to " + format_number(hi, "%g") + ")";
        return std::string();
      },
      "NUMBER");
}

// A path that is not empty ("-o ''" would otherwise mean "no output").
inline CLI::Validator non_empty_path() {
  return CLI::Validator([](std::string& s) { return s.empty() ? std::string("an empty path; give a file name") : std::string(); }, "PATH");
}

}  // namespace cpsim::cli
