// cpsim: the command-line front end. Thin: parses flags, calls the libraries, prints and exports. Whatever
// escapes a command ends as one line: out of memory is exit 2, anything else an internal error (exit 70).
#include <iostream>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "cli/commands.h"
#include "core/allocator.h"
#include "core/file_io.h"
#include "core/text_format.h"

int main(int argc, char** argv) {
  cpsim::keep_freed_memory_for_reuse();
  cpsim::remove_temporaries_on_signals();
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
      cpsim::cli::add_kernels_command(app),
      cpsim::cli::add_validate_command(app),
      cpsim::cli::add_import_command(app),
      cpsim::cli::add_sweep_command(app),
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
    // Point to the help of the subcommand the user was typing, when there is one.
    std::string help = "cpsim --help";
    for (int i = 1; i < argc; ++i) {
      for (const auto& command : commands) {
        if (command.app->get_name() == argv[i]) help = "cpsim " + command.app->get_name() + " --help";
      }
      if (help != "cpsim --help") break;
    }
    std::cerr << "cpsim: error: command line: " << cpsim::printable(e.what()) << " (see " << help << ")\n";
    return 2;
  }
  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) {
        cpsim::cli::set_running_command(command.app->get_name());
        return command.run();
      }
    }
  } catch (const std::bad_alloc&) {
    return cpsim::cli::report(cpsim::bad_input("out of memory: this request needs more memory than the machine has (see docs/reliability.md, Limits)"));
  } catch (const std::system_error& e) {
    return cpsim::cli::report(cpsim::bad_input(std::string("the system refused a resource: ") + e.what()));
  } catch (const std::exception& e) {
    std::cerr << "cpsim: internal error: " << cpsim::printable(e.what()) << " (please report it)\n";
    return 70;
  }
  return 2;
}
