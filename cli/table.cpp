// Text tables, number formatting, bars and sparklines for the CLI.
#include "cli/table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cpsim::cli {
namespace {

// Display width of UTF-8 text: count code points (the block characters we use are one column wide).
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (const unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

const char* const kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"};
const char* const kLevels[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

}  // namespace

Table::Table(std::vector<std::string> header, std::vector<bool> left_aligned)
    : header_(std::move(header)), left_(std::move(left_aligned)) {
  left_.resize(header_.size(), false);
  if (!left_.empty()) left_[0] = true;
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(header_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render() const {
  std::vector<std::size_t> width(header_.size(), 0);
  for (std::size_t c = 0; c < header_.size(); ++c) width[c] = display_width(header_[c]);
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - display_width(row[c]), ' ');
      if (c > 0) line += "  ";
      line += left_[c] ? row[c] + pad : pad + row[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header_);
  for (const auto& row : rows_) emit(row);
  return out;
}

std::string with_commas(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string percent(double fraction, int decimals) { return fixed(100.0 * fraction, decimals) + "%"; }

std::string millis(double us) { return fixed(us / 1000.0, 3); }

std::string bar(double value, double max, int width) {
  if (max <= 0 || value <= 0) return "";
  const auto eighths = static_cast<int>(std::lround(std::min(1.0, value / max) * width * 8));
  std::string out;
  for (int i = 0; i < eighths / 8; ++i) out += kEighths[8];
  out += kEighths[eighths % 8];
  return out;
}

std::string sparkline(const std::vector<std::int64_t>& values) {
  const std::int64_t max = values.empty() ? 0 : *std::max_element(values.begin(), values.end());
  std::string out;
  for (const auto v : values) {
    if (v <= 0 || max <= 0) {
      out += " ";
      continue;
    }
    const auto level = static_cast<int>(std::ceil(8.0 * static_cast<double>(v) / static_cast<double>(max))) - 1;
    out += kLevels[std::clamp(level, 0, 7)];
  }
  return out;
}

}  // namespace cpsim::cli
