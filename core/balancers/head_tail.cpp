// head_tail: PyTorch's _HeadTailLoadBalancer. The row is cut into 2W chunks; rank r owns chunk r
// (head) then chunk 2W-1-r (tail), which balances causal work exactly.
#include "../balancer.h"

namespace cpsim {
namespace {

class HeadTailBalancer final : public Balancer {
 public:
  std::string_view name() const override { return "head_tail"; }
  bool from_pytorch() const override { return true; }
  RingLayout ring_layout() const override { return RingLayout::kHeadTail; }
  std::string_view summary() const override {
    return "PyTorch _HeadTailLoadBalancer: 2W chunks, rank r gets chunk r and chunk 2W-1-r; needs S % 2W == 0";
  }
  Result<std::vector<Permutation>> rearrange(const BalancerInput& in) const override {
    if (auto ok = check_balancer_input(in); !ok) return ok.error();
    const std::int64_t s = in.workload.seq_len;
    const std::int64_t w = in.world_size;
    if (s % (2 * w) != 0) {
      return bad_input(in.source + ": seq_len: " + std::to_string(s) + " is not divisible by 2*W = " +
                       std::to_string(2 * w) + " (head_tail cuts each row into 2W chunks; PyTorch asserts here)");
    }
    const std::int64_t chunk = s / (2 * w);
    Permutation perm;
    perm.reserve(static_cast<std::size_t>(s));
    for (std::int64_t r = 0; r < w; ++r) {
      for (const std::int64_t c : {r, 2 * w - 1 - r}) {
        for (std::int64_t i = 0; i < chunk; ++i) perm.push_back(c * chunk + i);
      }
    }
    return std::vector<Permutation>(static_cast<std::size_t>(in.workload.rows()), perm);
  }
};

}  // namespace

std::unique_ptr<Balancer> make_head_tail_balancer() { return std::make_unique<HeadTailBalancer>(); }

}  // namespace cpsim
