#!/usr/bin/env bash
# Set-up command 2: installs what is needed (Debian packages; the pinned Python environment with torch, cached
# outside the repository), builds cpsim with its Python module, and runs the whole test suite (CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
python=$(scripts/setup-python.sh | tail -n 1)
CPSIM_PYTHON_EXE="$python" scripts/build.sh
ctest --preset release --parallel 2
