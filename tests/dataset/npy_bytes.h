// NumPy .npy files made in memory for the tests, byte for byte as np.save writes them (format 1.0, or 2.0 and
// 3.0 with their 4-byte header length), so no test needs Python.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cpsim::testing {

// `values` as items of `descr` ("<i8", ">u2", "|i1", "<f8": the bytes of a float are the integer's, which is all
// a refusal needs), under a header that says `shape` (default "(N,)") and `fortran`.
inline std::string npy_bytes(const std::vector<std::int64_t>& values, const std::string& descr, int version = 1, std::string shape = "",
                             const std::string& fortran = "False") {
  if (shape.empty()) shape = "(" + std::to_string(values.size()) + ",)";
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  const std::size_t preamble = version == 1 ? 10 : 12;
  std::size_t total = preamble + dict.size() + 1;
  total = (total + 63) / 64 * 64;  // np.save pads the header so that the data starts 64-byte aligned
  dict += std::string(total - preamble - dict.size() - 1, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  const std::size_t len = dict.size();
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (version != 1) {
    out += static_cast<char>((len >> 16) & 0xff);
    out += static_cast<char>((len >> 24) & 0xff);
  }
  out += dict;
  std::size_t size = 0;
  for (std::size_t i = 2; i < descr.size(); ++i) size = size * 10 + static_cast<std::size_t>(descr[i] - '0');
  if (descr.size() <= 2 || descr[1] == 'O') size = 8;
  const bool big = descr[0] == '>';
  for (const std::int64_t v : values) {
    const auto u = static_cast<std::uint64_t>(v);
    for (std::size_t b = 0; b < size; ++b) {
      const std::size_t shift = 8 * (big ? size - 1 - b : b);
      out += static_cast<char>((u >> shift) & 0xff);
    }
  }
  return out;
}

}  // namespace cpsim::testing
