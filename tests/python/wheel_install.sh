#!/usr/bin/env bash
# `pip install .` as a user runs it: builds the wheel (scikit-build-core + nanobind from the pinned environment, no
# network), installs it into a folder of its own and plans from there, the hardware profiles coming from the wheel.
# Usage: wheel_install.sh PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
python=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
"$python" -m pip wheel --quiet --no-build-isolation --no-deps -w "$work/dist" "$src"
wheel=$(ls "$work"/dist/cpsim-*.whl)
"$python" -m pip install --quiet --no-deps --no-compile --target "$work/site" "$wheel"
cd "$work"  # not the source tree: nothing of it may be imported
env -u CPSIM_DATA_DIR PYTHONPATH="$work/site" "$python" - <<'PY'
import os, cpsim
here = os.path.dirname(cpsim.__file__)
assert here.startswith(os.getcwd()), here
assert os.path.isfile(os.path.join(here, "_cpsim.pyi")) and os.path.isfile(os.path.join(here, "py.typed"))
assert os.environ["CPSIM_DATA_DIR"] == os.path.join(here, "data"), os.environ.get("CPSIM_DATA_DIR")
plan = cpsim.choose(cpsim.Workload([[4096] * 32]), 8, hardware="h100-sxm-ib")
assert plan.runtime == "pytorch" and plan.rearrange_indices.shape == (1, 131072), plan
print("wheel:", os.path.basename(os.listdir(os.path.join(os.getcwd(), "dist"))[0]), "installs and plans:", plan)
PY
