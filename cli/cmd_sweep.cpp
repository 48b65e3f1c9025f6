// `cpsim sweep`: the best plan per CP degree W
#include "cli/commands.h"

namespace cpsim::cli {

Command add_sweep_command(CLI::App& root) {
  CLI::App* app = root.add_subcommand("sweep", "the best plan per CP degree W (not yet built)");
  app->group("");  // hidden until it is built
  return {app, [] { return report(bad_input("sweep: not yet built")); }};
}

}  // namespace cpsim::cli
