// flex_allgather: PyTorch's FlexAttention CP: K/V all-gathered before one block-sparse kernel call over the
// rank's block mask against the full K/V (not overlapped); backward reduce-scatters dK/dV after its kernel.
// Any mask and balancer, but PyTorch requires Q_LEN % (W x 128) == 0 and BLOCK_SIZE 128.
#include "sim/path.h"

namespace cpsim {
namespace {

class FlexAllgather final : public PathModel {
 public:
  AttentionPath path() const override { return AttentionPath::kFlexAllgather; }
  bool from_pytorch() const override { return true; }
  bool accepts(KernelInterface i) const override { return i == KernelInterface::kFlex || i == KernelInterface::kAny; }
  std::vector<RotateMethod> rotate_methods() const override { return {RotateMethod::kAllGather}; }

  std::optional<std::string> unsupported_reason(const Plan& plan, const Strategy& s) const override {
    if (s.rotate != RotateMethod::kAllGather) return "FlexAttention CP only all-gathers K/V (no alltoall)";
    const std::int64_t w = plan.world_size;
    if (plan.workload.seq_len % (w * 128) != 0) {
      return "PyTorch raises NotImplementedError: Q_LEN " + std::to_string(plan.workload.seq_len) +
             " is not divisible by world size " + std::to_string(w) + " * BLOCK_SIZE 128";
    }
    if (plan.block_size != 128) return "FlexAttention CP fixes the block size at 128, not " + std::to_string(plan.block_size);
    return std::nullopt;
  }

  std::vector<Op> schedule(const SimContext& in, bool backward, std::int64_t) const override {
    const Plan& plan = in.plan;
    const std::int64_t w = plan.world_size;
    const auto ws = static_cast<std::size_t>(w);
    const double kv = in.kv_shard_bytes();
    const double gather_us = in.topology.ring_collective_us(CommOp::kAllGather, kv * static_cast<double>(w));
    const double scatter_us = in.topology.ring_collective_us(CommOp::kReduceScatter, kv * static_cast<double>(w));
    const double moved = kv * static_cast<double>(w - 1) / static_cast<double>(w);
    std::vector<Op> ops;
    auto one_kernel = [&](bool bwd, std::vector<std::size_t> deps, const std::string& name) {
      Op op{name, OpKind::kCompute, bwd, -1, std::vector<double>(ws, 0), std::move(deps), 0};
      op.parts.resize(ws);
      for (std::int64_t r = 0; r < w; ++r) {
        op.parts[static_cast<std::size_t>(r)] = in.cost.kernel_parts(plan_tiles(plan.work.rank_tiles(r), plan.work.rank_rows(r)), bwd);
        op.duration_us[static_cast<std::size_t>(r)] = op.parts[static_cast<std::size_t>(r)].total();
      }
      ops.push_back(std::move(op));
      return ops.size() - 1;
    };
    ops.push_back({"all-gather K/V", OpKind::kComm, false, -1, std::vector<double>(ws, gather_us), {}, moved});
    one_kernel(false, {ops.size() - 1}, "attention (full K/V)");
    if (backward) {
      const std::size_t b = one_kernel(true, {}, "attention backward (full K/V)");
      ops.push_back({"reduce-scatter dK/dV", OpKind::kComm, true, -1, std::vector<double>(ws, scatter_us), {b}, moved});
    }
    return ops;
  }

  // All of K/V gathered; full-length dK/dV before the reduce-scatter.
  double peak_memory_bytes(const SimContext& in, bool backward) const override {
    return attention_memory_bytes(in, static_cast<double>(in.plan.world_size) * kv_shard_bytes(in.plan), false, backward);
  }
};

}  // namespace

std::unique_ptr<PathModel> make_flex_allgather_path() { return std::make_unique<FlexAllgather>(); }

}  // namespace cpsim
