// Process set-up for the programs (CLI, GUI, benchmarks): keep freed memory for reuse. Planning allocates and
// frees buffers of 1 to 30 MB per plan; with glibc's defaults many come fresh from the kernel, and faulting
// their pages in was about 30% of token striping's planning time on the development machine (perf).
#pragma once

namespace cpsim {

// Raises glibc's mmap threshold to its 32 MiB maximum and the heap trim threshold to 1 GiB, so that freed
// buffers are reused rather than unmapped (measured in one session, docs/benchmarks.md: bench_balancers striped
// at 1M tokens, W = 64, 186 -> 133 ms, contiguous 22.5 -> 8.7 ms; peak RSS of `plan --balancer all` at 1M tokens
// 123 -> 130 MB). Does nothing with another allocator or when CPSIM_DEFAULT_MALLOC is set (to compare, or to
// hand memory back sooner). Call at the top of main().
void keep_freed_memory_for_reuse();

}  // namespace cpsim
