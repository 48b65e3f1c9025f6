#!/usr/bin/env bash
# Configures and builds the release preset (build/release). Extra arguments go to the build step. With
# CPSIM_PYTHON_EXE (a Python with nanobind, as scripts/setup-python.sh makes) the Python module is built too.
set -euo pipefail
cd "$(dirname "$0")/.."
python_flags=()
if [ -n "${CPSIM_PYTHON_EXE:-}" ]; then python_flags=(-DCPSIM_PYTHON=ON "-DPython_EXECUTABLE=$CPSIM_PYTHON_EXE"); fi
cmake --preset release "${python_flags[@]}" >/dev/null
cmake --build --preset release "$@"
