// striped_block: Striped Attention's layout (arXiv 2311.09431) at block granularity: block b of T tokens
// goes to rank b mod W, so every rank gets an even share of every region of the causal triangle while tiles
// stay whole. (Token granularity, which fragments every tile, is not registered yet: its one-token runs make
// work accounting at 1M tokens and W = 64 take ~0.9 s.)
#include "../balancer.h"

namespace cpsim {
namespace {

class StripedBlockBalancer final : public Balancer {
 public:
  std::string_view name() const override { return "striped_block"; }
  std::string_view summary() const override {
    return "Striped Attention at block granularity: block b of T tokens to rank b mod W; needs S % (W*T) == 0";
  }
  Result<std::vector<Permutation>> rearrange(const BalancerInput& in) const override {
    if (auto ok = check_balancer_input(in); !ok) return ok.error();
    const std::int64_t s = in.workload.seq_len, w = in.world_size;
    const std::int64_t unit = in.block_size;
    if (s % (w * unit) != 0) {
      return bad_input(in.source + ": seq_len: " + std::to_string(s) + " is not divisible by W * block size = " + std::to_string(w * unit) +
                       " (striped_block deals whole blocks round robin)");
    }
    const std::int64_t units = s / unit;
    Permutation perm;
    perm.reserve(static_cast<std::size_t>(s));
    for (std::int64_t r = 0; r < w; ++r) {
      for (std::int64_t u = r; u < units; u += w) {
        for (std::int64_t i = 0; i < unit; ++i) perm.push_back(u * unit + i);
      }
    }
    return std::vector<Permutation>(static_cast<std::size_t>(in.workload.rows()), perm);
  }
};

}  // namespace

std::unique_ptr<Balancer> make_striped_block_balancer() { return std::make_unique<StripedBlockBalancer>(); }

}  // namespace cpsim
