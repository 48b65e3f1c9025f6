// printf-style numbers and CSV fields for the reports.
#include "core/text_format.h"

#include <cstdio>

namespace cpsim {

std::string format_number(double value, const char* printf_format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, printf_format, value);
  return buf;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace cpsim
