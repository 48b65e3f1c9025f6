// One-line error reporting shared by all subcommands: the message made safe for a terminal.
#include <iostream>

#include "cli/commands.h"
#include "core/text_format.h"

namespace cpsim::cli {

int report(const Error& error) {
  // One line whatever the message quotes (file names, keys, values, flags): control characters escaped.
  std::cerr << "cpsim: error: " << printable(error.message) << "\n";
  return static_cast<int>(error.code);
}

}  // namespace cpsim::cli
