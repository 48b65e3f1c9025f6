// Keeps freed memory for reuse (see allocator.h).
#include "core/allocator.h"

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace cpsim {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  if (std::getenv("CPSIM_DEFAULT_MALLOC") != nullptr) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit; larger requests are still mapped
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace cpsim
