// Reading document lengths: the format by name or extension, and the file fed to its reader (dataset/length_sink.h)
// in chunks (a chunk may end anywhere, even inside a number or a quoted field), so a 512 MiB file costs 64 KiB of
// buffer plus 8 bytes a document.
#include "dataset/doc_lengths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/limits.h"
#include "dataset/length_sink.h"

namespace cpsim {
namespace {

using length_io::LengthSink;

constexpr std::size_t kChunkBytes = std::size_t{1} << 16;

std::unique_ptr<LengthSink> make_sink(const std::string& source, const LengthReadOptions& o) {
  switch (o.format) {
    case LengthFormat::kText: return length_io::make_text_sink(source);
    case LengthFormat::kCsv: return length_io::make_csv_sink(source, o.column);
    case LengthFormat::kJsonl: return length_io::make_jsonl_sink(source, o.field);
    case LengthFormat::kNpy: return length_io::make_npy_sink(source);
  }
  return nullptr;
}

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

struct NamedFormat {
  LengthFormat format;
  std::string_view name;
};
constexpr NamedFormat kFormats[] = {
    {LengthFormat::kText, "txt"}, {LengthFormat::kCsv, "csv"}, {LengthFormat::kJsonl, "jsonl"}, {LengthFormat::kNpy, "npy"}};

}  // namespace

std::optional<LengthFormat> parse_length_format(std::string_view name) {
  for (const auto& f : kFormats) {
    if (f.name == name) return f.format;
  }
  return std::nullopt;
}

std::string_view length_format_name(LengthFormat format) {
  for (const auto& f : kFormats) {
    if (f.format == format) return f.name;
  }
  return "unknown";
}

std::optional<LengthFormat> length_format_of_path(const std::string& path) {
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return std::nullopt;
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "text" || ext == "lengths") return LengthFormat::kText;
  if (ext == "ndjson") return LengthFormat::kJsonl;
  return parse_length_format(ext);
}

Result<std::vector<std::int64_t>> parse_doc_lengths(std::string_view bytes, const std::string& source, const LengthReadOptions& options,
                                                    std::size_t chunk_bytes) {
  auto sink = make_sink(source, options);
  const bool text = options.format != LengthFormat::kNpy;
  if (chunk_bytes == 0) chunk_bytes = kChunkBytes;
  for (std::size_t at = 0; at < bytes.size(); at += chunk_bytes) CPSIM_RETURN_IF_ERROR(sink->feed_file_bytes(bytes.substr(at, chunk_bytes), text));
  CPSIM_RETURN_IF_ERROR(sink->finish_file(text));
  return sink->take();
}

Result<std::vector<std::int64_t>> read_doc_lengths(const std::string& path, const LengthReadOptions& options) {
  // The checks of read_input_file (core/file_io.h), on a file read in chunks rather than whole. O_NONBLOCK: a FIFO
  // nobody writes must not hang the open; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return bad_input(path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return bad_input(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return bad_input(path + ": cannot open: is a directory, expected a file of document lengths");
  if (!S_ISREG(st.st_mode)) return bad_input(path + ": cannot read: is " + file_kind(st.st_mode) + "; cpsim reads regular files");
  if (st.st_size > kMaxInputBytes) {
    return bad_input(path + ": cannot read: " + std::to_string(st.st_size) + " bytes, more than the " + std::to_string(kMaxInputBytes >> 20) +
                     " MiB cpsim reads");
  }
  auto sink = make_sink(path, options);
  const bool text = options.format != LengthFormat::kNpy;
  std::vector<char> buffer(kChunkBytes);
  std::int64_t total = 0;
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return bad_input(path + ": cannot read: " + std::strerror(errno));
    if (n == 0) break;
    total += n;
    if (total > kMaxInputBytes) {
      return bad_input(path + ": cannot read: grew past the " + std::to_string(kMaxInputBytes >> 20) + " MiB cpsim reads");
    }
    CPSIM_RETURN_IF_ERROR(sink->feed_file_bytes(std::string_view(buffer.data(), static_cast<std::size_t>(n)), text));
  }
  CPSIM_RETURN_IF_ERROR(sink->finish_file(text));
  return sink->take();
}

}  // namespace cpsim