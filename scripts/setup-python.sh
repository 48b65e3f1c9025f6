#!/usr/bin/env bash
# Makes the Python environment the module's build and tests use: a virtual environment outside the repository
# ($CPSIM_VENV, default ~/.cache/cpsim/venv-<hash of python/requirements.txt>) with the pinned lock installed. Safe to
# run again: an environment whose lock matches is reused, so torch (about 3 GB with its CUDA wheels) downloads once.
# Prints the environment's python on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
lock=python/requirements.txt
hash=$(sha256sum "$lock" | cut -c1-12)
venv=${CPSIM_VENV:-$HOME/.cache/cpsim/venv-$hash}
stamp="$venv/.cpsim-lock-$hash"
if [ -f "$stamp" ] && "$venv/bin/python" -c "import nanobind, numpy, pytest, torch" 2>/dev/null; then
  echo "setup-python: $venv is ready (lock $hash)" >&2
else
  echo "setup-python: making $venv from $lock (torch and its CUDA wheels: about 3 GB, a minute or two on a fast link)" >&2
  start=$(date +%s)
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$lock"
  touch "$stamp"
  echo "setup-python: installed in $(( $(date +%s) - start )) s" >&2
fi
echo "$venv/bin/python"
