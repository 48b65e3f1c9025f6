// The .npy reader of document lengths: the header's dict, then integer items of any width and byte order.
#include <algorithm>
#include <cctype>
#include <cstring>

#include "dataset/length_sink.h"

namespace cpsim::length_io {
namespace {

// NumPy .npy (format versions 1 to 3): the magic "\x93NUMPY", a version, the header's length, a Python dict
// {'descr': '<i8', 'fortran_order': False, 'shape': (N,)}, then N items. Integer dtypes of 1, 2, 4 or 8 bytes,
// either byte order; a float, bool, object or structured dtype, or a shape of other than one dimension, is refused.
class NpySink final : public LengthSink {
 public:
  using LengthSink::LengthSink;

  Status feed(std::string_view chunk) override {
    if (!header_done_) {
      const std::size_t want = std::min(chunk.size(), kMaxNpyHeaderBytes + 12 - head_.size());
      head_.append(chunk.substr(0, want));
      CPSIM_RETURN_IF_ERROR(try_header());
      if (!header_done_) {
        if (want < chunk.size()) return fail("header", "longer than " + std::to_string(kMaxNpyHeaderBytes) + " bytes; not a NumPy header");
        return Ok{};
      }
      // What came after the header is data.
      const std::string data = head_.substr(header_end_);
      head_.clear();
      CPSIM_RETURN_IF_ERROR(feed_data(data));
      return feed_data(chunk.substr(want));
    }
    return feed_data(chunk);
  }

  Status finish() override {
    if (!header_done_) {
      CPSIM_RETURN_IF_ERROR(try_header(true));
    }
    if (data_bytes_ != count_ * itemsize_ || !carry_.empty()) {
      return size_mismatch();
    }
    if (count_ == 0) return fail("shape", "(0,): no documents");
    return Ok{};
  }

 private:
  Status try_header(bool at_end = false) {
    if (head_.size() < 10) {
      if (at_end && head_.empty()) return no_lengths(0);
      if (at_end) {
        if (head_.rfind("\x93NUMPY", 0) != 0 && std::string_view("\x93NUMPY").rfind(head_, 0) != 0) return not_npy();
        return fail("header", "truncated: the file ends after " + std::to_string(head_.size()) + " bytes, inside the .npy preamble");
      }
      return Ok{};
    }
    if (head_.compare(0, 6, "\x93NUMPY") != 0) return not_npy();
    const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(head_[i])); };
    const std::uint32_t major = byte(6);
    std::size_t preamble = 10;
    std::uint64_t header_len = 0;
    if (major == 1) {
      header_len = byte(8) | byte(9) << 8;
    } else if (major == 2 || major == 3) {
      if (head_.size() < 12) return at_end ? fail("header", "truncated inside the .npy preamble") : Status(Ok{});
      preamble = 12;
      header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | static_cast<std::uint64_t>(byte(11)) << 24;
    } else {
      return fail("header", "format version " + std::to_string(major) + "." + std::to_string(byte(7)) + " (cpsim reads versions 1 to 3)");
    }
    if (header_len > kMaxNpyHeaderBytes) {
      return fail("header", "says it is " + std::to_string(header_len) + " bytes long; a NumPy header is a short dict (at most " +
                                std::to_string(kMaxNpyHeaderBytes) + " bytes here)");
    }
    if (head_.size() < preamble + header_len) {
      if (at_end) {
        return fail("header", "says it is " + std::to_string(header_len) + " bytes long, but the file ends " +
                                  std::to_string(head_.size() - preamble) + " bytes into it");
      }
      return Ok{};
    }
    header_end_ = preamble + static_cast<std::size_t>(header_len);
    CPSIM_RETURN_IF_ERROR(parse_dict(std::string_view(head_).substr(preamble, static_cast<std::size_t>(header_len))));
    header_done_ = true;
    return Ok{};
  }

  Status not_npy() const { return fail("", "not a NumPy .npy file (it does not start with \"\\x93NUMPY\")"); }

  // The value of 'key' in the dict: the text up to the next top-level ',' or '}'.
  static std::string_view dict_value(std::string_view dict, std::string_view key) {
    for (const char q : {'\'', '"'}) {
      const std::string quoted = std::string(1, q) + std::string(key) + std::string(1, q);
      auto at = dict.find(quoted);
      if (at == std::string_view::npos) continue;
      at = dict.find(':', at + quoted.size());
      if (at == std::string_view::npos) return {};
      std::size_t end = at + 1;
      int nesting = 0;
      char in_string = 0;
      for (; end < dict.size(); ++end) {
        const char c = dict[end];
        if (in_string) {
          if (c == in_string) in_string = 0;
        } else if (c == '\'' || c == '"') {
          in_string = c;
        } else if (c == '(' || c == '[' || c == '{') {
          ++nesting;
        } else if (c == ')' || c == ']' || c == '}') {
          if (nesting == 0) break;
          --nesting;
        } else if (c == ',' && nesting == 0) {
          break;
        }
      }
      return trim(dict.substr(at + 1, end - at - 1));
    }
    return {};
  }

  Status parse_dict(std::string_view dict) {
    const std::string_view text = trim(dict.substr(0, dict.find_last_not_of(" \n") + 1));  // np.save pads with spaces and a newline
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
      return fail("header", "is not a Python dict: " + quote(text));
    }
    const std::string_view descr = dict_value(text, "descr");
    const std::string_view order = dict_value(text, "fortran_order");
    const std::string_view shape = dict_value(text, "shape");
    if (descr.empty() || order.empty() || shape.empty()) {
      return fail("header", "needs 'descr', 'fortran_order' and 'shape', got " + quote(text));
    }
    if (descr.size() < 4 || (descr.front() != '\'' && descr.front() != '"') || descr.back() != descr.front()) {
      return fail("descr", "a structured dtype " + quote(descr) + "; give a 1-D array of integers");
    }
    const std::string_view type = descr.substr(1, descr.size() - 2);
    CPSIM_RETURN_IF_ERROR(parse_dtype(type));
    if (order != "False" && order != "True") return fail("fortran_order", "expected True or False, got " + quote(order));
    // fortran_order True is the same bytes as C order for one dimension (more are refused by shape): accepted.
    return parse_shape(shape);
  }

  Status parse_dtype(std::string_view type) {
    const std::string t(type);
    const char order = type[0], kind = type.size() > 1 ? type[1] : '?';
    int size = 0;
    for (const char c : type.substr(2)) {
      if (c < '0' || c > '9' || size > 1000) {
        size = -1;
        break;
      }
      size = size * 10 + (c - '0');
    }
    const std::string hint = "; save the lengths as integers, e.g. np.save(path, lengths.astype(np.int64))";
    if (kind == 'f' || kind == 'c') return fail("descr", "dtype " + quote(t) + " is floating point: document lengths must be integers" + hint);
    if (kind == 'O') return fail("descr", "dtype " + quote(t) + " holds Python objects: document lengths must be integers" + hint);
    if (kind != 'i' && kind != 'u') return fail("descr", "dtype " + quote(t) + " is not an integer dtype" + hint);
    if (size != 1 && size != 2 && size != 4 && size != 8) return fail("descr", "dtype " + quote(t) + ": integers of 1, 2, 4 or 8 bytes only");
    if (order == '<' || order == '|' || (order == '=' && little_endian_host())) {
      big_endian_ = false;
    } else if (order == '>' || order == '=') {
      big_endian_ = true;
    } else {
      return fail("descr", "dtype " + quote(t) + ": unknown byte order " + quote(type.substr(0, 1)));
    }
    if (size > 1 && order == '|') return fail("descr", "dtype " + quote(t) + ": a multi-byte integer needs a byte order (< or >)");
    signed_ = kind == 'i';
    itemsize_ = size;
    dtype_ = t;
    return Ok{};
  }

  Status parse_shape(std::string_view shape) {
    if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') return fail("shape", "expected a tuple, got " + quote(shape));
    std::vector<std::string_view> dims;
    std::string_view inner = shape.substr(1, shape.size() - 2);
    while (!trim(inner).empty()) {
      const auto comma = inner.find(',');
      dims.push_back(trim(inner.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      inner.remove_prefix(comma + 1);
    }
    if (dims.size() != 1) {
      return fail("shape", std::to_string(dims.size()) + "-D array of shape " + std::string(shape) +
                               "; give a 1-D array, one length per document (arr.ravel() if it holds one length per document)");
    }
    const std::string_view d = dims[0];
    if (d.empty() || d.size() > 18 || d.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail("shape", "expected a count of elements, got " + quote(shape));
    }
    std::int64_t n = 0;
    for (const char c : d) n = n * 10 + (c - '0');
    if (n > kMaxTokens) {
      return fail("shape", std::string(shape) + ": more than " + std::to_string(kMaxTokens) + " documents (2^24), the most a workload can hold");
    }
    count_ = n;
    shape_ = std::string(shape);
    lengths_.reserve(static_cast<std::size_t>(n));
    return Ok{};
  }

  static bool little_endian_host() {
    const std::uint16_t one = 1;
    unsigned char first = 0;
    std::memcpy(&first, &one, 1);
    return first == 1;
  }

  Status size_mismatch() const {
    return fail("shape", shape_ + " of " + dtype_ + " needs " + std::to_string(count_ * itemsize_) + " bytes of data after the header, the file has " +
                             std::to_string(data_bytes_));
  }

  Status feed_data(std::string_view data) {
    if (data.empty()) return Ok{};
    if (overflow_) {
      data_bytes_ += static_cast<std::int64_t>(data.size());
      return Ok{};
    }
    data_bytes_ += static_cast<std::int64_t>(data.size());
    if (data_bytes_ > count_ * itemsize_) {
      // More data than the header says: counted to the end, so the message gives the file's real size.
      overflow_ = true;
      return Ok{};
    }
    const auto item = static_cast<std::size_t>(itemsize_);
    auto take = [&](const unsigned char* p) -> Status {
      std::uint64_t v = 0;
      for (std::size_t b = 0; b < item; ++b) v |= static_cast<std::uint64_t>(p[big_endian_ ? b : item - 1 - b]) << (8 * (item - 1 - b));
      const std::string where = "element " + std::to_string(lengths_.size());
      if (signed_ && item < 8 && (v >> (8 * item - 1)) & 1) v |= ~std::uint64_t{0} << (8 * item);  // sign-extend
      if (!signed_ && v > static_cast<std::uint64_t>(INT64_MAX)) return too_long(where, std::to_string(v));
      return add(static_cast<std::int64_t>(v), where);
    };
    if (!carry_.empty()) {
      const std::size_t need = item - carry_.size();
      carry_.append(data.substr(0, need));
      data.remove_prefix(std::min(need, data.size()));
      if (carry_.size() < item) return Ok{};
      CPSIM_RETURN_IF_ERROR(take(reinterpret_cast<const unsigned char*>(carry_.data())));
      carry_.clear();
    }
    const std::size_t whole = data.size() / item * item;
    for (std::size_t at = 0; at < whole; at += item) {
      CPSIM_RETURN_IF_ERROR(take(reinterpret_cast<const unsigned char*>(data.data() + at)));
    }
    carry_.assign(data.substr(whole));
    return Ok{};
  }

  std::string head_;
  bool header_done_ = false;
  std::size_t header_end_ = 0;
  std::string dtype_, shape_;
  bool big_endian_ = false, signed_ = true;
  std::int64_t itemsize_ = 1, count_ = 0, data_bytes_ = 0;
  std::string carry_;  // an item split between two chunks
  bool overflow_ = false;
};

}  // namespace

std::unique_ptr<LengthSink> make_npy_sink(const std::string& source) { return std::make_unique<NpySink>(source); }

}  // namespace cpsim::length_io
