// contiguous: no rearrangement; rank r owns positions [r*S/W, (r+1)*S/W) (PyTorch without a balancer).
#include <numeric>

#include "../balancer.h"

namespace cpsim {
namespace {

class ContiguousBalancer final : public Balancer {
 public:
  std::string_view name() const override { return "contiguous"; }
  bool from_pytorch() const override { return true; }
  RingLayout ring_layout() const override { return RingLayout::kContiguous; }
  std::string_view summary() const override {
    return "no rearrangement: rank r owns tokens [r*S/W, (r+1)*S/W); PyTorch CP without a balancer";
  }
  Result<std::vector<Permutation>> rearrange(const BalancerInput& in) const override {
    if (auto ok = check_balancer_input(in); !ok) return ok.error();
    Permutation identity(static_cast<std::size_t>(in.workload.seq_len));
    std::iota(identity.begin(), identity.end(), 0);
    return std::vector<Permutation>(static_cast<std::size_t>(in.workload.rows()), identity);
  }
};

}  // namespace

std::unique_ptr<Balancer> make_contiguous_balancer() { return std::make_unique<ContiguousBalancer>(); }

}  // namespace cpsim
