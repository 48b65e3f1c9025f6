// Tests of cpsim import and generate --dist mixture, through the real binary.
#include "cli/cli_fixture.h"

namespace cpsim::testing {
namespace {}  // namespace
}  // namespace cpsim::testing
