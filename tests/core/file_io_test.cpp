// The reader and the atomic writer against what a careless user or an attacker hands them: devices, FIFOs,
// symbolic links, folders, the command's own inputs, huge and hostile files, long names, a killed write.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/file_io.h"
#include "core/json_fields.h"

namespace cpsim {
namespace {

namespace fs = std::filesystem;

class FileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cpsim_file_io_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string read(const std::string& name) const {
    std::stringstream s;
    s << std::ifstream(path(name)).rdbuf();
    return s.str();
  }
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.insert(e.path().filename().string());
    return names;
  }
  void expect_refused(const Status& s, const std::string& why) const {
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find(why), std::string::npos) << s.error().message;
  }
  fs::path dir_;
};

Status status_of(const Result<std::string>& r) { return r.ok() ? Status(Ok{}) : Status(r.error()); }

TEST_F(FileIo, WritesNewNamesAndRegularFilesAndLeavesNoTemporary) {
  ASSERT_TRUE(write_file_atomically(path("a.json"), "one").ok());
  EXPECT_EQ(read("a.json"), "one");
  ASSERT_TRUE(write_file_atomically(path("a.json"), "two").ok());
  EXPECT_EQ(read("a.json"), "two");
  // A 255-byte name (the file system's limit) is legal: the temporary's name does not grow with it.
  const std::string longest(255, 'n');
  ASSERT_TRUE(write_file_atomically(path(longest), "long").ok());
  EXPECT_EQ(read(longest), "long");
  EXPECT_EQ(listing(), (std::set<std::string>{"a.json", longest}));
}

TEST_F(FileIo, RefusesEverythingButARegularFileOrANewName) {
  const auto before = fs::status("/dev/null").type();
  expect_refused(write_file_atomically("/dev/null", "x"), "/dev/null: cannot write: is a character device");
  EXPECT_EQ(fs::status("/dev/null").type(), before);  // still the device, even when run as root
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  expect_refused(write_file_atomically(path("fifo"), "x"), "fifo: cannot write: is a FIFO");
  std::ofstream(path("target.json")) << "keep";
  fs::create_symlink(path("target.json"), path("link.json"));
  expect_refused(write_file_atomically(path("link.json"), "x"), "link.json: cannot write: is a symbolic link");
  EXPECT_EQ(read("target.json"), "keep");
  fs::create_symlink("/proc/self/fd/1", path("stdout"));
  expect_refused(write_file_atomically(path("stdout"), "x"), "stdout: cannot write: is a symbolic link");
  fs::create_directories(path("folder"));
  expect_refused(write_file_atomically(path("folder"), "x"), "folder: cannot write: is a directory");
  expect_refused(write_file_atomically(path("missing/x.json"), "x"), "missing/x.json: cannot write: No such file or directory");
  expect_refused(write_file_atomically("", "x"), "(empty path): cannot write");
  expect_refused(check_output_path(path("target.json/x")), "target.json/x: cannot write: Not a directory");
  // Nothing was left behind by any of the refusals.
  EXPECT_EQ(listing(), (std::set<std::string>{"fifo", "target.json", "link.json", "stdout", "folder"}));
}

TEST_F(FileIo, NeverReplacesAnInputOfTheSameProcess) {
  std::ofstream(path("w.json")) << "{}";
  ASSERT_TRUE(read_input_file(path("w.json")).ok());
  expect_refused(write_file_atomically(path("w.json"), "x"), "w.json: cannot write: it is an input of this command");
  expect_refused(check_output_path(path("w.json")), "it is an input of this command");
  fs::create_hard_link(path("w.json"), path("same.json"));  // another name of the same file
  expect_refused(write_file_atomically(path("same.json"), "x"), "it is an input of this command");
  EXPECT_EQ(read("w.json"), "{}");
  // Once the input is gone, other files may take its inode: they are not taken for it; its name is a new name.
  fs::remove(path("w.json"));
  fs::remove(path("same.json"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(write_file_atomically(path("other.json"), "new " + std::to_string(i)).ok());
  ASSERT_TRUE(write_file_atomically(path("w.json"), "new").ok());
}

TEST_F(FileIo, ReadsOnlyBoundedRegularFiles) {
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  expect_refused(status_of(read_input_file(path("fifo"))), "fifo: cannot read: is a FIFO; cpsim reads regular files");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));  // no writer: refused, not waited for
  expect_refused(status_of(read_input_file("/dev/zero")), "/dev/zero: cannot read: is a character device");
  fs::create_directories(path("folder"));
  expect_refused(status_of(read_input_file(path("folder"))), "is a directory");
  // A (sparse) file above the limit is refused before a byte of it is read.
  {
    const int fd = ::open(path("huge.json").c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, kMaxInputBytes + 1), 0);
    ::close(fd);
  }
  expect_refused(status_of(read_input_file(path("huge.json"))), "huge.json: cannot read: 536870913 bytes, more than the 512 MiB");
  expect_refused(status_of(read_input_file(path("none.json"))), "none.json: cannot open: No such file or directory");
}

TEST(Json, HostileDocumentsAreRefusedWithTheirPosition) {
  auto error = [](const std::string& text) {
    auto r = parse_json_text(text, "f.json");
    return r.ok() ? std::string("accepted") : r.error().message;
  };
  EXPECT_EQ(error(std::string(200000, '[')), "f.json: line 1, column 65: nested deeper than 64 levels");
  EXPECT_EQ(error("{\"a\": " + std::string(100, '[') + std::string(100, ']') + "}"), "f.json: line 1, column 70: nested deeper than 64 levels");
  EXPECT_EQ(error(std::string(64, '[') + std::string(64, ']')), "accepted");
  EXPECT_EQ(error("{\"a\": \"[[[[" + std::string(100, '[') + "\"}"), "accepted");  // brackets inside a string do not nest
  EXPECT_EQ(error(std::string("{}\0garbage", 10)), "f.json: line 1, column 3: a NUL byte; a JSON file is text");
  EXPECT_EQ(error("{\"seq_len\": 16, \"seq_len\": 32}"), "f.json: seq_len: appears twice in one object (the second would silently win)");
  EXPECT_EQ(error("{\"a\": {\"k\": 1, \"k\": 2}}"), "f.json: k: appears twice in one object (the second would silently win)");
  EXPECT_EQ(error("[{\"k\": 1}, {\"k\": 2}]"), "accepted");  // the same key in two objects
  EXPECT_NE(error("{} trailing").find("f.json: line 1, column 6: syntax error while parsing value"), std::string::npos) << error("{} trailing");
  // Strings that are not UTF-8 (a file name from the command line) are written, never thrown on.
  EXPECT_EQ(json_text(Json(std::string("a\xff" "b"))), "\"a\xef\xbf\xbd" "b\"");
}

TEST_F(FileIo, StaleTemporariesOfGoneProcessesAreRemoved) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a process that is gone
  const std::string dead = ".cpsim-" + std::to_string(child) + "-0.tmp";
  const std::string mine = ".cpsim-" + std::to_string(::getpid()) + "-0.tmp";
  for (const std::string& name : {dead, mine, std::string(".cpsim-x-0.tmp"), std::string("keep.json")}) std::ofstream(path(name)) << "x";
  EXPECT_EQ(remove_stale_temporaries(dir_.string()), 1);
  EXPECT_EQ(listing(), (std::set<std::string>{mine, ".cpsim-x-0.tmp", "keep.json"}));
}

// SIGTERM in the middle of a write removes its temporary. The writer is frozen (SIGSTOP) once its temporary
// appears, so the signal always lands mid-write whatever the machine's load; a write that finished before it
// could be frozen is tried again, larger.
TEST_F(FileIo, ASignalMidWriteRemovesTheTemporary) {
  for (std::size_t mib = 256;; mib *= 2) {
    ASSERT_LE(mib, 4096u) << "never caught the write in progress";
    const std::string target = path("big.json");
    const pid_t child = ::fork();
    if (child == 0) {
      remove_temporaries_on_signals();
      const std::string text(mib << 20, 'x');
      ::_exit(write_file_atomically(target, text).ok() ? 0 : 1);
    }
    bool frozen = false;
    for (int i = 0; i < 200000 && !frozen; ++i) {
      for (const auto& name : listing()) {
        if (name.rfind(".cpsim-", 0) == 0) frozen = ::kill(child, SIGSTOP) == 0;
      }
      if (!frozen) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    bool mid_write = false;
    if (frozen) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the stop has taken effect
      for (const auto& name : listing()) mid_write = mid_write || name.rfind(".cpsim-", 0) == 0;
    }
    ::kill(child, SIGTERM);
    ::kill(child, SIGCONT);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!mid_write) {
      fs::remove(target);
      continue;
    }
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    for (const auto& name : listing()) EXPECT_NE(name.rfind(".cpsim-", 0), 0u) << name << " left behind";
    EXPECT_FALSE(fs::exists(target));
    return;
  }
}

}  // namespace
}  // namespace cpsim
