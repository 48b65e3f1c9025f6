#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan) and fuzzes every parser: workload
# files, PLAN.json, hardware profiles, batch lines, strategy texts, published-measurement files and the document-
# length files of `cpsim import`, starting from the seeds in
# tests/fuzz/<target>/.
#   scripts/run-fuzz.sh                 a short run for CI: 20 s per target
#   FUZZ_RUNS=1000000 scripts/run-fuzz.sh   a fixed number of executions per target (docs/fuzzing.md)
# New inputs go to a scratch corpus (build/fuzz/corpus/), so the seeds in the repository stay small; the large
# and deeply nested seeds (up to 1 MiB, what -max_len allows) are written there at start.
# Exits non-zero when any target crashes (the reproducer is left in build/fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
targets=(workload plan profile batch_line strategy validation doc_lengths)
cmake --preset fuzz > /dev/null
cmake --build --preset fuzz --target "${targets[@]/#/fuzz_}"
limit=(-max_total_time="${FUZZ_SECONDS:-20}")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
status=0
for t in "${targets[@]}"; do
  corpus=build/fuzz/corpus/$t
  mkdir -p "$corpus"
  # Seeds that reach the depth and size limits: 200 KB of '[', nesting inside a real document's field, a long
  # array of numbers and a long string.
  python3 - "$corpus" <<'PY'
import sys
d = sys.argv[1]
open(f"{d}/deep-brackets", "w").write("[" * 200000)
open(f"{d}/deep-in-field", "w").write('{"schema_version": 1, "predicted": ' + "[" * 70 + "]" * 70 + "}")
open(f"{d}/long-array", "w").write("[" + ",".join(["7"] * 150000) + "]")
open(f"{d}/long-string", "w").write('{"name": "' + "x" * 900000 + '"}')
PY
  log=build/fuzz/fuzz_$t.log
  # -rss_limit_mb bounds memory, -timeout makes a slow input (a hang) a failure.
  if build/fuzz/fuzz/fuzz_$t "${limit[@]}" -rss_limit_mb=2048 -timeout=10 -max_len=1048576 \
       -artifact_prefix=build/fuzz/crash_${t}_ "$corpus" "tests/fuzz/$t" > "$log" 2>&1; then
    echo "fuzz_$t: ok, $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" | tail -1)"
  else
    echo "fuzz_$t: FAILED (see $log)"; tail -20 "$log"; status=1
  fi
done
exit $status
