// Builds the per-source position-count table and answers C_s(x) from it.
#include "core/source_counts.h"

#include <algorithm>

#include "core/work.h"

namespace cpsim {

static_assert(kMaxWorldSize <= 65536, "SourceCounts holds ranks in 16 bits");

SourceCounts::SourceCounts(const RowLayout& layout)
    : seq_len_(layout.seq_len()), world_size_(layout.world_size()), group_(std::max<std::int64_t>(64, layout.world_size())) {
  source_of_.resize(static_cast<std::size_t>(seq_len_));
  for (const Run& run : layout.runs()) {  // one division per run, not per position
    std::fill_n(source_of_.begin() + run.position, run.length, static_cast<std::uint16_t>(layout.rank_of_slot(run.slot)));
  }
  table_.resize(static_cast<std::size_t>((seq_len_ / group_ + 1) * world_size_));
  std::vector<std::int32_t> counts(static_cast<std::size_t>(world_size_), 0);
  for (std::int64_t g = 0; g <= seq_len_ / group_; ++g) {
    std::copy(counts.begin(), counts.end(), table_.begin() + g * world_size_);
    for (std::int64_t p = g * group_; p < std::min(seq_len_, (g + 1) * group_); ++p) ++counts[source_of_[static_cast<std::size_t>(p)]];
  }
}

void SourceCounts::below(std::int64_t x, std::vector<std::int64_t>& out) const {
  x = std::clamp<std::int64_t>(x, 0, seq_len_);
  const std::int64_t g = x / group_;
  const std::int32_t* row = &table_[static_cast<std::size_t>(g * world_size_)];
  for (std::int64_t s = 0; s < world_size_; ++s) out[static_cast<std::size_t>(s)] = row[s];
  for (std::int64_t p = g * group_; p < x; ++p) ++out[source_of_[static_cast<std::size_t>(p)]];
}

}  // namespace cpsim
