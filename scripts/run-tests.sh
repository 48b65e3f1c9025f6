#!/usr/bin/env bash
# Set-up command 2: installs what is needed, builds cpsim, and runs the whole test suite (CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
scripts/build.sh
ctest --preset release --parallel 2
