// Tests of execute's run-time estimate and progress, and calibrate's diagnostics, through the real binary.
#include "cli/cli_fixture.h"

namespace cpsim::testing {
namespace {}  // namespace
}  // namespace cpsim::testing
