// Process set-up for the programs (CLI, GUI, benchmarks): keep freed memory for reuse. Planning allocates and
// frees buffers of 1 to 30 MB per plan; with glibc's defaults each comes fresh from the kernel, and faulting
// its pages in was about half of planning time on the development machine.
#pragma once

namespace cpsim {

// Raises glibc's mmap threshold to its 32 MiB maximum and the heap trim threshold to 1 GiB, so that freed
// buffers are reused rather than unmapped (measured: bench_balancers ptrr at 131,072 tokens, W = 8, 3.5 -> 1.6
// ms; peak RSS of `plan --balancer all` at 1M tokens 123 -> 147 MB). Does nothing with another allocator or
// when CPSIM_DEFAULT_MALLOC is set (to compare, or to hand memory back sooner). Call at the top of main().
void keep_freed_memory_for_reuse();

}  // namespace cpsim
