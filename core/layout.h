// The layout of one batch row under a balancer: PyTorch's rearrange/restore indices and the
// rank-major sharding contract (rank r owns slots [r*S/W, (r+1)*S/W)). Written once here and used by
// work accounting, the simulator, the executors and the GUI alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace cpsim {

// A maximal stretch of consecutive original positions that lands on consecutive slots of one rank.
struct Run {
  std::int64_t position = 0;  // first original position
  std::int64_t slot = 0;      // its slot after rearranging
  std::int64_t length = 0;
};

class RowLayout {
 public:
  // `rearrange[slot]` is the original position placed at `slot` (PyTorch: Q' = Q[rearrange]).
  // Fails unless it is a permutation of 0..S-1 and S is divisible by world_size; `where` prefixes messages.
  static Result<RowLayout> from_rearrange(std::vector<std::int64_t> rearrange, std::int64_t world_size,
                                          const std::string& where);

  std::int64_t seq_len() const { return static_cast<std::int64_t>(rearrange_.size()); }
  std::int64_t world_size() const { return world_size_; }
  std::int64_t shard_len() const { return shard_len_; }

  const std::vector<std::int64_t>& rearrange() const { return rearrange_; }
  // restore[p] = the slot of original position p = argsort(rearrange) (PyTorch's restore=True).
  const std::vector<std::int64_t>& restore() const { return restore_; }

  std::int64_t rank_of_slot(std::int64_t slot) const { return slot / shard_len_; }
  std::int64_t rank_of_position(std::int64_t position) const { return restore_[position] / shard_len_; }

  // Runs sorted by original position; they partition [0, S).
  const std::vector<Run>& runs() const { return runs_; }
  // Indices into runs(), sorted by slot; rank r's runs are the ones with slots in its shard.
  const std::vector<std::int32_t>& runs_in_slot_order() const { return slot_order_; }
  // Index into runs_in_slot_order() of the run holding `slot`.
  std::size_t slot_order_index(std::int64_t slot) const;
  // Index into runs() of the first run whose positions reach `position` or beyond.
  std::size_t first_run_reaching(std::int64_t position) const;

 private:
  std::vector<std::int64_t> rearrange_;
  std::vector<std::int64_t> restore_;
  std::int64_t world_size_ = 1;
  std::int64_t shard_len_ = 0;
  std::vector<Run> runs_;
  std::vector<std::int32_t> slot_order_;
};

}  // namespace cpsim
