// Builds restore indices and position runs from a rearrange permutation.
#include "layout.h"

#include <algorithm>

namespace cpsim {

Result<RowLayout> RowLayout::from_rearrange(std::vector<std::int64_t> rearrange, std::int64_t world_size,
                                            const std::string& where) {
  const auto s = static_cast<std::int64_t>(rearrange.size());
  if (world_size <= 0) return bad_input(where + ": world size must be positive, got " + std::to_string(world_size));
  if (s == 0 || s % world_size != 0) {
    return bad_input(where + ": sequence length " + std::to_string(s) + " is not divisible by world size " +
                     std::to_string(world_size) + " (each rank owns S/W slots)");
  }
  RowLayout layout;
  layout.world_size_ = world_size;
  layout.shard_len_ = s / world_size;
  layout.restore_.assign(static_cast<std::size_t>(s), -1);
  for (std::int64_t slot = 0; slot < s; ++slot) {
    const std::int64_t p = rearrange[static_cast<std::size_t>(slot)];
    if (p < 0 || p >= s) {
      return bad_input(where + "[" + std::to_string(slot) + "]: index " + std::to_string(p) + " is outside [0, " +
                       std::to_string(s) + ")");
    }
    auto& back = layout.restore_[static_cast<std::size_t>(p)];
    if (back >= 0) {
      return bad_input(where + "[" + std::to_string(slot) + "]: index " + std::to_string(p) +
                       " appears twice (also at slot " + std::to_string(back) + "); not a permutation");
    }
    back = slot;
  }
  layout.rearrange_ = std::move(rearrange);

  // Runs: break where the next position does not follow on the next slot, or the slot crosses a shard.
  const auto& restore = layout.restore_;
  std::int64_t shard_end = 0;  // the end of the last run's shard: one division per run, not per position
  for (std::int64_t p = 0; p < s; ++p) {
    const std::int64_t slot = restore[static_cast<std::size_t>(p)];
    if (!layout.runs_.empty()) {
      Run& last = layout.runs_.back();
      if (slot == last.slot + last.length && slot < shard_end) {
        ++last.length;
        continue;
      }
    }
    layout.runs_.push_back({p, slot, 1});
    shard_end = (slot / layout.shard_len_ + 1) * layout.shard_len_;
  }
  // Runs partition the slots, so ordering them by slot is a bucket pass over the slots, not a sort.
  std::vector<std::int32_t> run_at_slot(static_cast<std::size_t>(s), -1);
  for (std::size_t k = 0; k < layout.runs_.size(); ++k) run_at_slot[static_cast<std::size_t>(layout.runs_[k].slot)] = static_cast<std::int32_t>(k);
  layout.slot_order_.reserve(layout.runs_.size());
  for (const std::int32_t k : run_at_slot) {
    if (k >= 0) layout.slot_order_.push_back(k);
  }
  return layout;
}

std::size_t RowLayout::slot_order_index(std::int64_t slot) const {
  const auto it = std::upper_bound(slot_order_.begin(), slot_order_.end(), slot,
                                   [&](std::int64_t x, std::int32_t run) { return x < runs_[static_cast<std::size_t>(run)].slot; });
  return static_cast<std::size_t>(it - slot_order_.begin()) - 1;
}

std::size_t RowLayout::first_run_reaching(std::int64_t position) const {
  const auto it = std::upper_bound(runs_.begin(), runs_.end(), position,
                                   [](std::int64_t x, const Run& r) { return x < r.position + r.length; });
  return static_cast<std::size_t>(it - runs_.begin());
}

}  // namespace cpsim
