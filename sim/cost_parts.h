// What a compute op's time is made of, so that a plan's distance to the lower bound can be explained: the kernel
// launch, its tiles at the kernel's rate, the cost per CTA, the longest CTA beyond the spread work, and the rest
// (LSE merges, backward's gradient accumulation and extra kernels).
#pragma once

namespace cpsim {

struct CostParts {
  double launch_us = 0;
  double tiles_us = 0;    // full and partial tiles spread over the SMs at the kernel's efficiency
  double cta_us = 0;      // the CTAs' fixed cost (load Q, write O and the LSE), spread likewise
  double longest_us = 0;  // how much the longest CTA exceeds the spread work (a row the SMs cannot share)
  double other_us = 0;    // merges, accumulation, backward's extra kernels
  double total() const { return launch_us + tiles_us + cta_us + longest_us + other_us; }
  CostParts& operator+=(const CostParts& o) {
    launch_us += o.launch_us;
    tiles_us += o.tiles_us;
    cta_us += o.cta_us;
    longest_us += o.longest_us;
    other_us += o.other_us;
    return *this;
  }
};

}  // namespace cpsim
