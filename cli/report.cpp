// One-line error reporting shared by all subcommands.
#include <iostream>

#include "cli/commands.h"

namespace cpsim::cli {

int report(const Error& error) {
  std::cerr << "cpsim: error: " << error.message << "\n";
  return static_cast<int>(error.code);
}

}  // namespace cpsim::cli
