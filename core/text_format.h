// Small text helpers shared by the reports (compare's ranking, batch's summary): printf-style numbers and
// CSV fields quoted per RFC 4180.
#pragma once

#include <string>
#include <string_view>

namespace cpsim {

// `value` through a printf format such as "%.3f" (one double conversion).
std::string format_number(double value, const char* printf_format);

// `text` as one CSV field: quoted, with quotes doubled, when it holds a comma or a quote; control characters
// are escaped first (printable), so a field never spans two lines.
std::string csv_field(const std::string& text);

// `text` safe for one line of a terminal: control characters and bytes that are not UTF-8 as \n, \t, \xNN
// (no escape sequence reaches the terminal, no message spans two lines); valid UTF-8 text is kept.
std::string printable(std::string_view text);

}  // namespace cpsim
