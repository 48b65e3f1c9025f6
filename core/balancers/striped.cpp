// Striped Attention's layout (arXiv 2311.09431): unit u of the sequence goes to rank u mod W, so every rank
// gets an even share of every region of the causal triangle. `striped` deals single tokens, as the paper
// does (every tile holds W-strided tokens, so causal tiles on the diagonal are all partial); `striped_block`
// deals whole blocks of T tokens, which keeps tiles whole.
#include "../balancer.h"

namespace cpsim {
namespace {

class StripedBalancer final : public Balancer {
 public:
  explicit StripedBalancer(bool blocks) : blocks_(blocks) {}
  std::string_view name() const override { return blocks_ ? "striped_block" : "striped"; }
  std::string_view summary() const override {
    return blocks_ ? "Striped Attention at block granularity: block b of T tokens to rank b mod W; needs S % (W*T) == 0"
                   : "Striped Attention: token i to rank i mod W";
  }
  Result<std::vector<Permutation>> rearrange(const BalancerInput& in) const override {
    if (auto ok = check_balancer_input(in); !ok) return ok.error();
    const std::int64_t s = in.workload.seq_len, w = in.world_size;
    const std::int64_t unit = blocks_ ? in.block_size : 1;
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

 private:
  bool blocks_;
};

}  // namespace

std::unique_ptr<Balancer> make_striped_balancer() { return std::make_unique<StripedBalancer>(false); }
std::unique_ptr<Balancer> make_striped_block_balancer() { return std::make_unique<StripedBalancer>(true); }

}  // namespace cpsim
