// The subcommands of `cpsim`. Each adds itself to the CLI11 app and returns what to run once parsed.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "core/result.h"

namespace cpsim::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_generate_command(CLI::App& root);
Command add_plan_command(CLI::App& root);
Command add_balancers_command(CLI::App& root);
Command add_simulate_command(CLI::App& root);
Command add_compare_command(CLI::App& root);
Command add_execute_command(CLI::App& root);
Command add_calibrate_command(CLI::App& root);
Command add_batch_command(CLI::App& root);
Command add_kernels_command(CLI::App& root);
Command add_validate_command(CLI::App& root);
Command add_import_command(CLI::App& root);
Command add_sweep_command(CLI::App& root);

// Prints "cpsim: error: <message>" on stderr and returns the exit status for it (2, or 3 for a failed check). A
// message about a flag ("--world-size: ...") ends by pointing to the running subcommand's help.
int report(const Error& error);
void set_running_command(const std::string& name);

}  // namespace cpsim::cli
