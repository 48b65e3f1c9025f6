// Round axis ticks (1, 2 or 5 times a power of ten) and the unit texts the views print beside them:
// 0, 20, 40 ms, never 35.59 and 71.18.
#pragma once

#include <QString>
#include <cstdint>
#include <vector>

namespace cpsim::gui {

// About `target` round values covering [lo, hi] (every one of them inside it).
std::vector<double> nice_ticks(double lo, double hi, int target);
// The step nice_ticks uses for that span.
double nice_step(double span, int target);

// Token ticks: multiples of a power of two (sequence lengths are: 16K, 32K, ... never 19.53K).
std::vector<double> token_ticks(double lo, double hi, int target);
// Token counts as people write them: 0, 512, 32K, 1M, 1.5M (K = 1024).
QString tokens_text(double tokens);
// A time in microseconds with the unit that keeps it short: "850 us", "12.5 ms", "1.2 s".
QString time_text(double us);
// Bytes: "512 B", "3.0 MiB", "1.25 GiB".
QString bytes_text(double bytes);

}  // namespace cpsim::gui
