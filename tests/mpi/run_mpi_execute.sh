#!/usr/bin/env bash
# The MPI executor on loopback: W = 2 and 4 processes verify a plan of every balancer with both rotate methods and
# the sparse exchange (a sparse_gather plan), forward and backward (dQ/dK/dV); an injected wrong output or
# gradient fails the check (exit 3) and an injected failed rank ends the job naming it (CPSIM_FAULTS); a plan
# for more ranks than mpirun started is refused with exit status 2; on a machine without a GPU, --device cuda
# under mpirun (the NCCL executor) is refused with exit status 2. No verdict depends on timing: each waits for
# mpirun to end and reads its exit status and output.
# Usage: run_mpi_execute.sh CPSIM WORKDIR
set -uo pipefail
cpsim=$1
dir=$2
mkdir -p "$dir"
source "$(dirname "$0")/mpi_env.sh"
fail=0
"$cpsim" generate --seq-len 512 --dist uniform --min-len 8 --max-len 200 --multiple-of 8 --seed 5 \
  --q-heads 2 --kv-heads 1 --head-dim 16 --out "$dir/w.json" 2>/dev/null || exit 1
for w in 2 4; do
  for balancer in $("$cpsim" balancers | cut -d" " -f1); do
    "$cpsim" plan "$dir/w.json" -w $w -b $balancer --block-size 32 -r alltoall -o "$dir/p$w.json" >/dev/null || exit 1
    "$cpsim" plan "$dir/w.json" -w $w -b $balancer --block-size 32 -r allgather -p sparse_gather -o "$dir/s$w.json" >/dev/null || exit 1
    for rotate in alltoall allgather sparse; do
      if [ $rotate = sparse ]; then args=("$dir/s$w.json"); else args=("$dir/p$w.json" -r $rotate); fi
      out=$(timeout 120 mpirun --oversubscribe -np $w "$cpsim" execute "${args[@]}" --backward --timeout-s 30 2>&1)
      rc=$?
      if [ $rc -ne 0 ] || [ "$(grep -c "PASSED" <<<"$out")" -ne 2 ]; then
        echo "FAIL: W=$w $balancer $rotate (exit $rc)"; echo "$out" | tail -5; fail=1
      else
        echo "ok: W=$w $balancer $rotate: $(grep -o 'max abs error [^ ]*' <<<"$out" | tr '\n' ' ')"
      fi
    done
  done
done
for fault in corrupt-output corrupt-gradient; do
  out=$(CPSIM_FAULTS=$fault timeout 120 mpirun --oversubscribe -x CPSIM_FAULTS -np 2 "$cpsim" execute "$dir/p2.json" --backward --timeout-s 30 2>&1)
  rc=$?
  if [ $rc -eq 3 ] && grep -q "verification failed" <<<"$out"; then
    echo "ok: $fault under mpirun fails the check (exit 3)"
  else
    echo "FAIL: $fault under mpirun gave exit $rc"; echo "$out" | tail -5; fail=1
  fi
done
out=$(CPSIM_FAULTS=fail-rank=1 timeout 120 mpirun --oversubscribe -x CPSIM_FAULTS -np 2 "$cpsim" execute "$dir/p2.json" --timeout-s 30 2>&1)
rc=$?
# The verdict is the exit status MPI_Abort hands mpirun (4): what mpirun forwards of the aborting rank's last
# line is best effort (once only its end arrived), so the message is reported, not required.
if [ $rc -eq 4 ]; then
  echo "ok: a failed rank under mpirun ends the job (exit 4; message $(grep -q "rank 1 failed (injected fault)" <<<"$out" && echo seen || echo lost))"
else
  echo "FAIL: a failed rank under mpirun gave exit $rc"; echo "$out" | tail -5; fail=1
fi
out=$(timeout 120 mpirun --oversubscribe -np 2 "$cpsim" execute "$dir/p4.json" 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -q "the plan needs 4 ranks but mpirun started 2" <<<"$out"; then
  echo "ok: W=4 plan under mpirun -np 2 refused (exit 2)"
else
  echo "FAIL: W=4 plan under -np 2 gave exit $rc"; echo "$out" | tail -5; fail=1
fi
if ! nvidia-smi -L >/dev/null 2>&1; then
  out=$(timeout 120 mpirun --oversubscribe -np 2 "$cpsim" execute "$dir/p2.json" --device cuda 2>&1)
  rc=$?
  # Every rank refuses alike, but mpirun may end the job as soon as the first rank exits: one message is enough
  # (counting both made the verdict depend on timing).
  if [ $rc -eq 2 ] && grep -q -- "--device cuda: no GPU available\|built without the NCCL executor\|built without CUDA" <<<"$out"; then
    echo "ok: --device cuda under mpirun without a GPU refused (exit 2)"
  else
    echo "FAIL: --device cuda under mpirun without a GPU gave exit $rc"; echo "$out" | tail -5; fail=1
  fi
fi
exit $fail
