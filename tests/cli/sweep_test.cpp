// Tests of cpsim sweep, compare --runtime and --export, through the real binary.
#include "cli/cli_fixture.h"

namespace cpsim::testing {
namespace {}  // namespace
}  // namespace cpsim::testing
