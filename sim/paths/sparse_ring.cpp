// sparse_ring: cpsim's all-to-all ring with block-sparse work per step: any mask and balancer, each (rank, step)
// runs the plan's own non-empty tiles (a block-sparse kernel over the step's block mask), hop by hop.
#include <algorithm>

#include "sim/paths/ring.h"

namespace cpsim {
namespace {

class SparseRing final : public RingPath {
 public:
  AttentionPath path() const override { return AttentionPath::kSparseRing; }
  bool accepts(KernelInterface i) const override {
    return i == KernelInterface::kFlex || i == KernelInterface::kBlockSparse || i == KernelInterface::kAny;
  }
  std::vector<RotateMethod> rotate_methods() const override { return {RotateMethod::kAllToAll}; }

  std::optional<std::string> unsupported_reason(const Plan&, const Strategy& s) const override {
    if (s.rotate != RotateMethod::kAllToAll) return "the sparse ring rotates K/V hop by hop (alltoall); all-gathered K/V is flex_allgather";
    return std::nullopt;
  }

  std::vector<StepKernel> ring_steps(const Plan& plan) const override {
    const std::int64_t w = plan.world_size;
    const std::int64_t n = plan.workload.seq_len / w;
    const std::int64_t rows = plan.workload.rows();
    std::vector<StepKernel> out(static_cast<std::size_t>(w * w));
    for (std::int64_t r = 0; r < w; ++r) {
      for (std::int64_t i = 0; i < w; ++i) {
        StepKernel& k = out[static_cast<std::size_t>(r * w + i)];
        k.work = plan_tiles(plan.work.step_tiles(r, i), plan.work.step_rows(r, i));
        // Only the Q tile rows that saw keys at this step have anything to merge.
        k.merge_rows = i > 0 ? std::min(k.work.active_rows * plan.block_size, n * rows) : 0;
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<PathModel> make_sparse_ring_path() { return std::make_unique<SparseRing>(); }

}  // namespace cpsim
