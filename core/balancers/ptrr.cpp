// ptrr: PyTorch's _PTRRLoadBalancer (processing-time round robin). A Q block's cost is its number of
// non-empty KV blocks in the global block mask; blocks are sorted by cost (descending, stable) and dealt
// to ranks in snake order; each rank's blocks are kept in ascending order.
#include <algorithm>
#include <numeric>

#include "../balancer.h"
#include "../mask.h"

namespace cpsim {

std::vector<std::vector<std::int64_t>> ptrr_schedule(const std::vector<std::int64_t>& costs, std::int64_t groups) {
  const auto n = static_cast<std::int64_t>(costs.size());
  std::vector<std::int64_t> order(costs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return costs[static_cast<std::size_t>(a)] > costs[static_cast<std::size_t>(b)];
  });
  std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(groups));
  for (std::int64_t row = 0; row < n / groups; ++row) {
    for (std::int64_t col = 0; col < groups; ++col) {
      const std::int64_t g = row % 2 == 0 ? col : groups - 1 - col;  // snake: odd rows reversed
      out[static_cast<std::size_t>(g)].push_back(order[static_cast<std::size_t>(row * groups + col)]);
    }
  }
  for (auto& g : out) std::sort(g.begin(), g.end());
  return out;
}

namespace {

class PtrrBalancer final : public Balancer {
 public:
  std::string_view name() const override { return "ptrr"; }
  bool from_pytorch() const override { return true; }
  std::string_view summary() const override {
    return "PyTorch _PTRRLoadBalancer: Q blocks by non-empty KV-block count, snake round robin; "
           "needs S % block == 0 and (S/block) % W == 0";
  }
  Result<std::vector<Permutation>> rearrange(const BalancerInput& in) const override {
    if (auto ok = check_balancer_input(in); !ok) return ok.error();
    const Workload& wl = in.workload;
    const std::int64_t bs = in.block_size;
    if (wl.seq_len % bs != 0) {
      return bad_input(in.source + ": seq_len: " + std::to_string(wl.seq_len) + " is not a multiple of block size " +
                       std::to_string(bs) + " (ptrr moves whole blocks; use --block-size that divides it)");
    }
    const std::int64_t blocks = wl.seq_len / bs;
    if (blocks % in.world_size != 0) {
      return bad_input(in.source + ": seq_len: " + std::to_string(wl.seq_len) + " makes " + std::to_string(blocks) +
                       " blocks of " + std::to_string(bs) + ", not divisible by world size " +
                       std::to_string(in.world_size) + " (ptrr deals whole blocks; PyTorch raises "
                       "NotImplementedError here)");
    }
    std::vector<Permutation> rows;
    rows.reserve(wl.documents.size());
    for (const auto& docs : wl.documents) {
      const RowMask mask(wl.mask, wl.seq_len, docs);
      rows.push_back(permutation_from_blocks(ptrr_schedule(nonempty_kv_blocks(mask, wl.seq_len, bs), in.world_size), bs));
    }
    return rows;
  }
};

}  // namespace

std::unique_ptr<Balancer> make_ptrr_balancer() { return std::make_unique<PtrrBalancer>(); }

}  // namespace cpsim
