// `cpsim import`: make workloads from document lengths in a text, CSV, JSONL or .npy file
#include "cli/commands.h"

namespace cpsim::cli {

Command add_import_command(CLI::App& root) {
  CLI::App* app = root.add_subcommand("import", "make workloads from document lengths in a text, CSV, JSONL or .npy file (not yet built)");
  app->group("");  // hidden until it is built
  return {app, [] { return report(bad_input("import: not yet built")); }};
}

}  // namespace cpsim::cli
