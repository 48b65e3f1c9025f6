// Small text helpers shared by the reports (compare's ranking, batch's summary): printf-style numbers and
// CSV fields quoted per RFC 4180.
#pragma once

#include <string>

namespace cpsim {

// `value` through a printf format such as "%.3f" (one double conversion).
std::string format_number(double value, const char* printf_format);

// `text` as one CSV field: quoted, with quotes doubled, when it holds a comma, a quote or a newline.
std::string csv_field(const std::string& text);

}  // namespace cpsim
