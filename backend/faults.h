// A seam for tests that every executor honours at the same two points: before a rank starts (it can be made
// to fail or to stall) and once the ranks' results are in, before verification (one output or dK element can
// be corrupted). So each executor can be shown to name a failed rank and to fail its check on a wrong result.
// Production options carry none of this: the executors receive it when they are made (choose_executor).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/rank_program.h"
#include "core/result.h"

namespace cpsim {

struct Faults {
  std::int64_t failing_rank = -1;  // this rank fails before it starts
  std::int64_t stalled_rank = -1;  // this rank waits stall_ms before it starts
  std::int64_t stall_ms = 0;
  bool corrupt_output = false;    // rank 0's first output element is off by twice the check's tolerance (>= 1e-3)
  bool corrupt_gradient = false;  // rank 0's first dK element is off by 1e-2 (after a backward pass)
};

// $CPSIM_FAULTS, for the tests that drive the cpsim program (CLI, GUI, mpirun): a comma-separated list of
// fail-rank=R, stall-rank=R:MS, corrupt-output, corrupt-gradient. Unset or empty: no faults; anything else is
// an error naming the variable and the item.
Result<Faults> faults_from_environment();

// At the start of rank `rank`: its failure, or its stall (then Ok).
Status rank_fault(const Faults& faults, std::int64_t rank);
// On the gathered results, before a verification of output tolerance `tolerance`.
void corrupt_results(const Faults& faults, std::vector<RankRun>& runs, double tolerance);

}  // namespace cpsim
