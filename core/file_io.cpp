// POSIX file reading and atomic writing with the checks of file_io.h; the inputs read and the temporaries in
// flight are kept in small process-wide tables (the second one read by a signal handler: atomics only).
#include "file_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

namespace cpsim {
namespace {

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The paths of the inputs this process read. A write compares its target with what those paths name *now*
// (device and inode): a hard link or another spelling of an input is caught, and an input deleted since, whose
// inode a new file may reuse, no longer counts.
std::mutex g_inputs_mutex;
std::vector<std::string> g_inputs;

void remember_input(const std::string& path) {
  const std::lock_guard<std::mutex> lock(g_inputs_mutex);
  for (const std::string& p : g_inputs) {
    if (p == path) return;
  }
  g_inputs.push_back(path);
}

bool is_input(const struct stat& target) {
  const std::lock_guard<std::mutex> lock(g_inputs_mutex);
  for (const std::string& p : g_inputs) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && st.st_dev == target.st_dev && st.st_ino == target.st_ino) return true;
  }
  return false;
}

// Temporaries being written, for the signal handler: a slot holds a heap copy of the name, or nothing.
constexpr int kSlots = 512;
std::atomic<char*> g_in_flight[kSlots];

int hold_temporary(char* name) {
  for (int i = 0; i < kSlots; ++i) {
    char* expected = nullptr;
    if (g_in_flight[i].compare_exchange_strong(expected, name)) return i;
  }
  return -1;  // more writes at once than slots: this one is not cleaned up on a signal
}

void release_temporary(int slot) {
  if (slot >= 0) g_in_flight[slot].store(nullptr);
}

extern "C" void remove_temporaries_and_reraise(int sig) {
  for (auto& slot : g_in_flight) {
    if (char* name = slot.load()) ::unlink(name);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

std::atomic<std::uint64_t> g_counter{0};

Status write_all(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bad_input(std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return Ok{};
}

}  // namespace

Result<std::string> read_input_file(const std::string& path, FileRole role) {
  // O_NONBLOCK: opening a FIFO nobody writes must not hang; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return bad_input(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return bad_input(path + ": cannot open: " + why);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return bad_input(path + ": cannot open: is a directory, expected a JSON file");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return bad_input(path + ": cannot read: is " + kind_of(st.st_mode) + "; cpsim reads regular files");
  }
  if (st.st_size > kMaxInputBytes) {
    ::close(fd);
    return bad_input(path + ": cannot read: " + std::to_string(st.st_size) + " bytes, more than the " +
                     std::to_string(kMaxInputBytes >> 20) + " MiB cpsim reads");
  }
  std::string text;
  text.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return bad_input(path + ": cannot read: " + why);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (static_cast<std::int64_t>(text.size()) > kMaxInputBytes) {
      ::close(fd);
      return bad_input(path + ": cannot read: grew past the " + std::to_string(kMaxInputBytes >> 20) + " MiB cpsim reads");
    }
  }
  ::close(fd);
  if (role == FileRole::kInput) remember_input(path);
  return text;
}

namespace {

// What an output path must be: a regular file (not an input) or a new name.
Status check_target(const std::string& path) {
  if (path.empty()) return bad_input("(empty path): cannot write: an output needs a file name");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      return bad_input(path + ": cannot write: is " + kind_of(st.st_mode) + "; cpsim writes only to regular files or new names");
    }
    if (is_input(st)) return bad_input(path + ": cannot write: it is an input of this command; write the output elsewhere");
  } else if (errno != ENOENT) {
    return bad_input(path + ": cannot write: " + std::strerror(errno));
  }
  return Ok{};
}

}  // namespace

Status check_output_path(const std::string& path) {
  CPSIM_RETURN_IF_ERROR(check_target(path));
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return Ok{};
  struct stat st {};
  if (::stat(parent.c_str(), &st) != 0) return bad_input(path + ": cannot write: " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return bad_input(path + ": cannot write: " + parent.string() + " is not a folder");
  return Ok{};
}

Status write_file_atomically(const std::string& path, std::string_view text) {
  CPSIM_RETURN_IF_ERROR(check_target(path));
  // A short name in the same folder (a rename stays on one file system; any legal file name still fits).
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string tmp = (parent.empty() ? std::string(".") : parent.string()) + "/.cpsim-" + std::to_string(::getpid()) + "-" +
                          std::to_string(g_counter++) + ".tmp";
  // Held before the file exists, so that a signal at any moment finds it (unlinking a name not yet created, or
  // already renamed, does nothing).
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  const int slot = hold_temporary(name.data());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    release_temporary(slot);
    return bad_input(path + ": cannot write: " + why);
  }
  auto fail = [&](const std::string& why) {
    ::unlink(tmp.c_str());
    release_temporary(slot);
    return bad_input(path + ": cannot write: " + why);
  };
  if (auto ok = write_all(fd, text); !ok) {
    ::close(fd);
    return fail(ok.error().message);
  }
  if (::close(fd) != 0) return fail(std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(std::strerror(errno));
  release_temporary(slot);
  return Ok{};
}

void remove_temporaries_on_signals() {
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, remove_temporaries_and_reraise);
}

std::int64_t remove_stale_temporaries(const std::string& folder) {
  namespace fs = std::filesystem;
  std::int64_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".cpsim-", 0) != 0 || name.size() < 12 || name.substr(name.size() - 4) != ".tmp") continue;
    const std::string_view digits = std::string_view(name).substr(7, name.find('-', 7) - 7);
    long pid = 0;
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (err != std::errc() || end != digits.data() + digits.size() || pid <= 0) continue;
    if (pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace cpsim
