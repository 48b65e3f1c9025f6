// cost_aware: whole blocks of T tokens dealt by what they cost the kernel, not by how many there are. A Q
// block costs its full KV tiles plus its partial ones weighted by the partial-tile cost (the per-element
// mask), so fragmentation at document edges counts. Greedy LPT (every rank gets exactly S/(W*T) blocks),
// then local search swaps blocks between the busiest rank and the others while the busiest gets lighter.
// Integer costs and fixed tie-breaks make it deterministic.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "../balancer.h"
#include "../mask.h"

namespace cpsim {
namespace {

using Cost = std::int64_t;

// How far above the least-loaded rank a block may go to stay with its document, in thousandths of the
// mean load per rank.
constexpr Cost kSlackPerMille = 5;

// Per Q block, in thousandths of a full tile.
std::vector<Cost> block_costs(const RowMask& mask, std::int64_t seq_len, std::int64_t block, double partial_cost) {
  const auto nonempty = nonempty_kv_blocks(mask, seq_len, block);
  const auto full = full_kv_blocks(mask, seq_len, block);
  const Cost partial_milli = std::llround(partial_cost * 1000.0);
  std::vector<Cost> costs(nonempty.size());
  for (std::size_t i = 0; i < costs.size(); ++i) costs[i] = 1000 * full[i] + partial_milli * (nonempty[i] - full[i]);
  return costs;
}

struct Assignment {
  std::vector<std::vector<std::pair<Cost, std::int64_t>>> members;  // per rank, (cost, block) ascending
  std::vector<Cost> load;
};

// Longest processing time first, with every rank capped at `per_rank` blocks. Locality: a block goes to the
// rank that already holds most of its document's cost when that rank is within `slack` of the least
// loaded one, so documents stay together (fewer ring steps carry work, less K/V to move) at a bounded
// price in balance.
Assignment greedy(const std::vector<Cost>& costs, const std::vector<std::size_t>& doc_of, std::size_t docs,
                  std::int64_t ranks, std::int64_t per_rank, Cost slack) {
  std::vector<std::int64_t> order(costs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return costs[static_cast<std::size_t>(a)] > costs[static_cast<std::size_t>(b)];
  });
  const auto w = static_cast<std::size_t>(ranks);
  Assignment out{std::vector<std::vector<std::pair<Cost, std::int64_t>>>(w), std::vector<Cost>(w, 0)};
  std::vector<Cost> doc_cost(docs * w, 0);  // [doc * W + rank]
  for (const std::int64_t b : order) {
    const std::size_t doc = doc_of[static_cast<std::size_t>(b)];
    std::size_t lightest = w, home = w;
    for (std::size_t r = 0; r < w; ++r) {
      if (static_cast<std::int64_t>(out.members[r].size()) == per_rank) continue;
      if (lightest == w || out.load[r] < out.load[lightest]) lightest = r;
      if (home == w || doc_cost[doc * w + r] > doc_cost[doc * w + home]) home = r;
    }
    const bool stay = doc_cost[doc * w + home] > 0 && out.load[home] <= out.load[lightest] + slack;
    const std::size_t to = stay ? home : lightest;
    out.members[to].emplace_back(costs[static_cast<std::size_t>(b)], b);
    out.load[to] += costs[static_cast<std::size_t>(b)];
    doc_cost[doc * w + to] += costs[static_cast<std::size_t>(b)];
  }
  for (auto& m : out.members) std::sort(m.begin(), m.end());
  return out;
}

// One improving swap between the busiest rank and another: the pair whose cost difference is closest to
// half the load gap. Returns false when no swap makes the busiest rank lighter without making the other
// rank at least as heavy.
bool improve_once(Assignment& a) {
  const auto busiest = static_cast<std::size_t>(std::max_element(a.load.begin(), a.load.end()) - a.load.begin());
  auto& top = a.members[busiest];
  Cost best_peak = a.load[busiest];
  std::size_t best_rank = 0, best_i = 0, best_j = 0;
  for (std::size_t r = 0; r < a.load.size(); ++r) {
    const Cost gap = a.load[busiest] - a.load[r];
    if (r == busiest || gap <= 0) continue;
    const auto& other = a.members[r];
    for (std::size_t i = 0; i < top.size(); ++i) {
      // Ideal partner cost: top[i] - gap / 2; look at its neighbours in the sorted list.
      const Cost want = top[i].first - gap / 2;
      const auto it = std::lower_bound(other.begin(), other.end(), std::make_pair(want, std::int64_t{-1}));
      for (auto cand = it == other.begin() ? it : it - 1; cand != other.end() && cand <= it; ++cand) {
        const Cost d = top[i].first - cand->first;
        if (d <= 0 || d >= gap) continue;
        const Cost peak = std::max(a.load[busiest] - d, a.load[r] + d);
        if (peak < best_peak) {
          best_peak = peak;
          best_rank = r;
          best_i = i;
          best_j = static_cast<std::size_t>(cand - other.begin());
        }
      }
    }
  }
  if (best_peak == a.load[busiest]) return false;
  auto& other = a.members[best_rank];
  const auto x = top[best_i], y = other[best_j];
  top.erase(top.begin() + static_cast<std::ptrdiff_t>(best_i));
  other.erase(other.begin() + static_cast<std::ptrdiff_t>(best_j));
  top.insert(std::lower_bound(top.begin(), top.end(), y), y);
  other.insert(std::lower_bound(other.begin(), other.end(), x), x);
  a.load[busiest] += y.first - x.first;
  a.load[best_rank] += x.first - y.first;
  return true;
}

class CostAwareBalancer final : public Balancer {
 public:
  std::string_view name() const override { return "cost_aware"; }
  std::string_view summary() const override {
    return "cpsim: blocks by kernel cost (full and partial tiles), LPT then local search; needs S % (W*T) == 0";
  }
  Result<std::vector<Permutation>> rearrange(const BalancerInput& in) const override {
    if (auto ok = check_balancer_input(in); !ok) return ok.error();
    const Workload& wl = in.workload;
    const std::int64_t bs = in.block_size, w = in.world_size;
    if (wl.seq_len % (w * bs) != 0) {
      return bad_input(in.source + ": seq_len: " + std::to_string(wl.seq_len) + " is not divisible by W * block size = " +
                       std::to_string(w * bs) + " (cost_aware deals whole blocks, the same number to every rank)");
    }
    const std::int64_t blocks = wl.seq_len / bs;
    std::vector<Permutation> rows;
    rows.reserve(wl.documents.size());
    for (const auto& docs : wl.documents) {
      const RowMask mask(wl.mask, wl.seq_len, docs);
      const std::vector<Cost> costs = block_costs(mask, wl.seq_len, bs, in.partial_tile_cost);
      std::vector<std::size_t> doc_of(costs.size());
      for (std::size_t b = 0; b < costs.size(); ++b) doc_of[b] = mask.segment_of(static_cast<std::int64_t>(b) * bs);
      const Cost total = std::accumulate(costs.begin(), costs.end(), Cost{0});
      Assignment a = greedy(costs, doc_of, mask.segments().size(), w, blocks / w, total / w * kSlackPerMille / 1000);
      for (std::int64_t round = 0; round < blocks && improve_once(a); ++round) {
      }
      std::vector<std::vector<std::int64_t>> groups;
      for (const auto& m : a.members) {
        std::vector<std::int64_t> ids;
        for (const auto& [cost, b] : m) ids.push_back(b);
        std::sort(ids.begin(), ids.end());  // original order inside a rank keeps documents' tiles together
        groups.push_back(std::move(ids));
      }
      rows.push_back(permutation_from_blocks(groups, bs));
    }
    return rows;
  }
};

}  // namespace

std::unique_ptr<Balancer> make_cost_aware_balancer() { return std::make_unique<CostAwareBalancer>(); }

}  // namespace cpsim
