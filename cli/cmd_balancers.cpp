// `cpsim balancers`: one line per built-in balancer, name first, then what it does.
#include <iostream>

#include "cli/commands.h"
#include "core/balancer.h"

namespace cpsim::cli {

Command add_balancers_command(CLI::App& root) {
  CLI::App* sub = root.add_subcommand("balancers", "List the load balancers cpsim knows");
  sub->footer("Example:\n  cpsim balancers");
  return {sub, [] {
            std::size_t width = 0;
            for (const auto& b : balancer_registry()) width = std::max(width, b->name().size());
            for (const auto& b : balancer_registry()) {
              std::cout << b->name() << std::string(width - b->name().size() + 2, ' ') << b->summary() << "\n";
            }
            return 0;
          }};
}

}  // namespace cpsim::cli
