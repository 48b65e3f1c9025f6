// cpsim: the command-line front end. Thin: parses flags, calls the libraries, prints and exports.
#include <iostream>
#include <vector>

#include "cli/commands.h"
#include "core/allocator.h"

int main(int argc, char** argv) {
  cpsim::keep_freed_memory_for_reuse();
  CLI::App app{"cpsim: plan context-parallel attention (load balancers, rotate methods) for real document masks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cpsim 0.1.0");
  const std::vector<cpsim::cli::Command> commands = {
      cpsim::cli::add_generate_command(app),
      cpsim::cli::add_plan_command(app),
      cpsim::cli::add_balancers_command(app),
      cpsim::cli::add_simulate_command(app),
      cpsim::cli::add_compare_command(app),
      cpsim::cli::add_execute_command(app),
      cpsim::cli::add_calibrate_command(app),
      cpsim::cli::add_batch_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "cpsim: error: command line: " << e.what() << " (see cpsim --help)\n";
    return 2;
  }
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return 2;
}
