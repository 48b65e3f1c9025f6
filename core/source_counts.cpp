// Builds the per-source position-count table and answers C_s(x) from it.
#include "core/source_counts.h"

#include <algorithm>

#include "core/work.h"

namespace cpsim {

static_assert(kMaxWorldSize <= 65536, "SourceCounts holds ranks in 16 bits");

SourceCounts::SourceCounts(const RowLayout& layout)
    : seq_len_(layout.seq_len()), world_size_(layout.world_size()), group_(std::max<std::int64_t>(64, layout.world_size())) {
  source_of_.resize(static_cast<std::size_t>(seq_len_));
  for (std::int64_t p = 0; p < seq_len_; ++p) source_of_[static_cast<std::size_t>(p)] = static_cast<std::uint16_t>(layout.rank_of_position(p));
  table_.assign(static_cast<std::size_t>((seq_len_ / group_ + 1) * world_size_), 0);
  std::vector<std::int32_t> counts(static_cast<std::size_t>(world_size_), 0);
  for (std::int64_t p = 0; p <= seq_len_; ++p) {
    if (p % group_ == 0) std::copy(counts.begin(), counts.end(), table_.begin() + (p / group_) * world_size_);
    if (p < seq_len_) ++counts[source_of_[static_cast<std::size_t>(p)]];
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
