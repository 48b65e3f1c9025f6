#!/usr/bin/env bash
# A rank that dies ends an MPI run with an error naming it, within 60 s: start a W = 2 execution long enough
# to be caught mid-run, SIGKILL the process of rank 1 from outside, and check that mpirun exits non-zero
# within 60 s with a message naming rank 1. Usage: run_mpi_kill_rank.sh CPSIM WORKDIR
set -uo pipefail
cpsim=$1
dir=$2
mkdir -p "$dir"
source "$(dirname "$0")/mpi_env.sh"
"$cpsim" generate --seq-len 65536 --dist fixed --length 65536 --mask causal --q-heads 4 --kv-heads 1 --head-dim 32 \
  --out "$dir/w.json" 2>/dev/null || exit 1
"$cpsim" plan "$dir/w.json" -w 2 -b head_tail -r alltoall -o "$dir/p.json" > /dev/null || exit 1

start=$(date +%s)
# The run must end by itself within 60 s of the start; `timeout` makes a hang a failure, not a stuck test
# (a watchdog subshell would leave its sleep holding the test's output open for the full 60 s).
timeout -s KILL 60 mpirun --oversubscribe -np 2 "$cpsim" execute "$dir/p.json" --timeout-s 30 > "$dir/out.txt" 2>&1 &
runner=$!
# Find rank 1's process by its MPI environment, then kill it outright.
victim=""
for _ in $(seq 200); do
  for pid in $(pgrep -f "$cpsim execute $dir/p.json" || true); do
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$pid; fi
  done
  [ -n "$victim" ] && break
  sleep 0.05
done
if [ -z "$victim" ]; then echo "FAIL: rank 1's process never appeared"; kill "$runner" 2>/dev/null; cat "$dir/out.txt"; exit 1; fi
sleep 1
kill -9 "$victim"
echo "killed rank 1 (pid $victim)"
wait "$runner"
rc=$?
elapsed=$(( $(date +%s) - start ))
tail -5 "$dir/out.txt"
if [ $rc -eq 0 ]; then echo "FAIL: the run succeeded although rank 1 was killed"; exit 1; fi
if [ $elapsed -gt 60 ]; then echo "FAIL: the error took ${elapsed} s (limit 60 s)"; exit 1; fi
if ! grep -Eqi "rank 1\b|process rank 1 " "$dir/out.txt"; then echo "FAIL: the error does not name rank 1"; exit 1; fi
echo "ok: exit $rc after ${elapsed} s, rank 1 named"
