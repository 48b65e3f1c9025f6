// sdpa_ring: PyTorch's SDPA ring (_templated_ring_attention with _is_causal_behavior, in
// torch/distributed/tensor/experimental/_context_parallel/_attention.py). Causal or full masks only, on no
// rearrangement or the global head-tail layout; dense/causal flash kernels per step, as PyTorch calls them.
#include "core/balancer.h"
#include "sim/paths/ring.h"

namespace cpsim {
namespace {

std::int64_t tiles_for(std::int64_t tokens, std::int64_t tile) { return (tokens + tile - 1) / tile; }

// q queries against k keys: every row has all key blocks, every column all query blocks.
KernelWork dense(std::int64_t q, std::int64_t k, std::int64_t tile, std::int64_t rows) {
  const std::int64_t tq = tiles_for(q, tile);
  const std::int64_t tk = tiles_for(k, tile);
  return {tq * tk * rows, 0, tq * rows, tk, tk * rows, tq};
}

KernelWork causal_square(std::int64_t m, std::int64_t tile, std::int64_t rows) {
  const std::int64_t t = tiles_for(m, tile);
  return {t * (t - 1) / 2 * rows, t * rows, t * rows, t, t * rows, t};
}

class SdpaRing final : public RingPath {
 public:
  AttentionPath path() const override { return AttentionPath::kSdpaRing; }
  bool from_pytorch() const override { return true; }
  bool accepts(KernelInterface i) const override { return i == KernelInterface::kSdpa || i == KernelInterface::kAny; }
  std::vector<RotateMethod> rotate_methods() const override { return {RotateMethod::kAllGather, RotateMethod::kAllToAll}; }

  std::optional<std::string> unsupported_reason(const Plan& plan, const Strategy&) const override {
    const MaskKind mask = plan.workload.mask.kind;
    if (mask != MaskKind::kCausal && mask != MaskKind::kFull) {
      return "SDPA CP takes only is_causal True/False (attn_mask raises NotImplementedError); " +
             std::string(mask_kind_name(mask)) + " needs flex_allgather, sparse_ring or sparse_gather";
    }
    const RingLayout layout = ring_layout_of(plan.balancer);
    if (layout == RingLayout::kOther) {
      return "the SDPA ring's halving assumes the global head-tail layout; " + plan.balancer + " is for FlexAttention";
    }
    if (mask == MaskKind::kFull && layout == RingLayout::kHeadTail) {
      return "PyTorch raises RuntimeError: load balancing requires is_causal=True";
    }
    return std::nullopt;
  }

  // _is_causal_behavior: step 0 is the local causal block; later steps are full blocks, skipped (source after
  // rank, no balancer) or halved (head-tail: all of Q against the KV head half, or the Q tail half against all
  // of KV, a partial merge).
  std::vector<StepKernel> ring_steps(const Plan& plan) const override {
    const std::int64_t w = plan.world_size;
    const std::int64_t n = plan.workload.seq_len / w;
    const std::int64_t rows = plan.workload.rows();
    const std::int64_t tile = plan.block_size;
    const bool causal = plan.workload.mask.kind == MaskKind::kCausal;
    const bool head_tail = ring_layout_of(plan.balancer) == RingLayout::kHeadTail;
    std::vector<StepKernel> out(static_cast<std::size_t>(w * w));
    for (std::int64_t r = 0; r < w; ++r) {
      for (std::int64_t i = 0; i < w; ++i) {
        StepKernel& k = out[static_cast<std::size_t>(r * w + i)];
        if (!causal) {
          k.work = dense(n, n, tile, rows);
        } else if (i == 0) {
          k.work = causal_square(n, tile, rows);
        } else if (!head_tail) {
          if (i <= r) k.work = dense(n, n, tile, rows);  // source < rank: full; otherwise SKIP
        } else if (i <= r) {
          k.work = dense(n, n / 2, tile, rows);
        } else {
          k.work = dense(n / 2, n, tile, rows);
        }
        const bool q_tail_only = causal && head_tail && i > r;
        k.merge_rows = (i > 0 && !k.work.empty()) ? (q_tail_only ? n / 2 : n) * rows : 0;
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<PathModel> make_sdpa_ring_path() { return std::make_unique<SdpaRing>(); }

}  // namespace cpsim
