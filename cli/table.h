// Plain-text tables and tiny bar charts for terminal output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cpsim::cli {

// Columns are right-aligned except the first and any marked left-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> left_aligned = {});
  void add_row(std::vector<std::string> cells);
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> left_;
  std::vector<std::vector<std::string>> rows_;
};

std::string with_commas(std::int64_t value);
std::string fixed(double value, int decimals);
std::string percent(double fraction, int decimals = 1);
// Microseconds shown as milliseconds with three decimals.
std::string millis(double us);
// A horizontal bar of `width` cells for value/max, in eighths of a cell.
std::string bar(double value, double max, int width);
// One block character per value, scaled to the largest: a sparkline.
std::string sparkline(const std::vector<std::int64_t>& values);

}  // namespace cpsim::cli
