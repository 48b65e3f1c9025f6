// The fixture of the CLI tests: a temporary folder per test and a runner for the cpsim binary that
// captures exit status, stdout and stderr.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cpsim::testing {

namespace fs = std::filesystem;

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cpsim_cli_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }

  Outcome run(const std::string& args, const std::string& env = "") const {
    const std::string out_file = path("stdout.txt");
    const std::string err_file = path("stderr.txt");
    const std::string cmd = (env.empty() ? "" : "env " + env + " ") + std::string(CPSIM_BINARY) + " " + args + " >" + out_file + " 2>" + err_file;
    const int raw = std::system(cmd.c_str());
    Outcome o;
    o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    std::stringstream out, err;
    out << std::ifstream(out_file).rdbuf();
    err << std::ifstream(err_file).rdbuf();
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  // Exit status 2 and exactly one stderr line that contains `expected`.
  void expect_bad_input(const std::string& args, const std::string& expected) const {
    const Outcome o = run(args);
    EXPECT_EQ(o.status, 2) << args << "\n" << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << args << "\n" << o.err;
    EXPECT_EQ(o.err.rfind("cpsim: error: ", 0), 0u) << o.err;
    EXPECT_NE(o.err.find(expected), std::string::npos) << args << "\nwanted: " << expected << "\ngot: " << o.err;
  }

  // Balancers the binary knows: one line each in `cpsim balancers`.
  std::size_t balancer_count() const {
    const Outcome o = run("balancers");
    return static_cast<std::size_t>(std::count(o.out.begin(), o.out.end(), '\n'));
  }

  fs::path dir_;
};

}  // namespace cpsim::testing
