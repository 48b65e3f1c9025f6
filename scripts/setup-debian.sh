#!/usr/bin/env bash
# Installs every Debian 12 package cpsim's build, tests and benchmarks need. Safe to run again:
# when everything is already installed it changes nothing (and skips the package-list update).
set -euo pipefail

packages=(
  build-essential cmake ninja-build    # compiler and build system
  nlohmann-json3-dev libcli11-dev      # JSON files, command-line flags
  libboost-graph-dev libeigen3-dev     # topology graphs and calibration fits (simulator)
  libopenmpi-dev openmpi-bin           # the MPI executor
  qt6-base-dev libqt6opengl6-dev qt6-charts-dev libxkbcommon-dev   # the desktop GUI (Qt 6 Widgets + Charts)
  xvfb xauth fontconfig fonts-dejavu-core                          # headless GUI tests and screenshots
  libgtest-dev libgmock-dev            # tests
  libbenchmark-dev time                # benchmarks (Google Benchmark, GNU time for peak memory)
  python3 python3-venv python3-dev     # the Python module (its pinned environment: scripts/setup-python.sh)
  clang libclang-rt-14-dev             # libFuzzer targets (tests/fuzz)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
