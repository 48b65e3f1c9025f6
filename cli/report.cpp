// One-line error reporting shared by all subcommands: the message made safe for a terminal.
#include <iostream>

#include "cli/commands.h"
#include "core/text_format.h"

namespace cpsim::cli {

namespace {
std::string g_running;  // the subcommand main() runs
}  // namespace

void set_running_command(const std::string& name) { g_running = name; }

int report(const Error& error) {
  // One line whatever the message quotes (file names, keys, values, flags): control characters escaped.
  std::cerr << "cpsim: error: " << printable(error.message);
  if (error.message.starts_with("--") && !g_running.empty()) std::cerr << " (see cpsim " << g_running << " --help)";
  std::cerr << "\n";
  return static_cast<int>(error.code);
}

}  // namespace cpsim::cli
