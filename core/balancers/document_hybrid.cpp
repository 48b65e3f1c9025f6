// document_hybrid: WLB-LLM's mix of whole-document and per-document sharding. Documents go longest-work-first
// to the least-loaded ranks with room: a short one whole (its K/V never leaves the rank), a long one split
// head-tail over just enough ranks. Token granularity: no length has to divide 2W, only S % W == 0.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "../balancer.h"
#include "../mask.h"

namespace cpsim {
namespace {

struct Range {
  std::int64_t begin = 0, end = 0;
  bool whole = false;  // a whole document (its tiles line up when lengths are multiples of T)
};

struct Rank {
  std::vector<Range> ranges;
  std::int64_t room = 0;  // tokens still free
  std::int64_t work = 0;  // visible pairs
};

void give(Rank& rank, const RowMask& mask, Range r) {
  if (r.end <= r.begin) return;
  rank.ranges.push_back(r);
  rank.room -= r.end - r.begin;
  rank.work += visible_pairs(mask, r.begin, r.end);
}

// Ranks in the order a piece should go to: least work first among those with room for `need` tokens,
// then the roomiest (ties: lower rank).
std::vector<std::size_t> placement_order(const std::vector<Rank>& ranks, std::int64_t need) {
  std::vector<std::size_t> order(ranks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const bool fits_a = ranks[a].room >= need, fits_b = ranks[b].room >= need;
    if (fits_a != fits_b) return fits_a;
    return fits_a ? ranks[a].work < ranks[b].work : ranks[a].room > ranks[b].room;
  });
  return order;
}

Permutation hybrid_row(const RowMask& mask, const std::vector<std::int64_t>& docs, std::int64_t seq_len, std::int64_t w,
                       std::int64_t block) {
  const std::int64_t capacity = seq_len / w;
  std::vector<Range> docs_ranges;
  std::vector<std::int64_t> work;
  std::int64_t start = 0, total = 0;
  for (const std::int64_t len : docs) {
    docs_ranges.push_back({start, start + len, true});
    work.push_back(visible_pairs(mask, start, start + len));
    total += work.back();
    start += len;
  }
  std::vector<std::size_t> order(docs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return work[a] > work[b]; });

  std::vector<Rank> ranks(static_cast<std::size_t>(w), Rank{{}, capacity, 0});
  std::vector<Range> overflow;  // what did not fit where it was meant to go
  auto place = [&](Rank& rank, Range r) {
    const std::int64_t fits = std::min(rank.room, r.end - r.begin);
    give(rank, mask, {r.begin, r.begin + fits, r.whole && fits == r.end - r.begin});
    if (r.begin + fits < r.end) overflow.push_back({r.begin + fits, r.end, false});
  };
  for (const std::size_t d : order) {
    const Range doc = docs_ranges[d];
    const std::int64_t len = doc.end - doc.begin;
    // Split over the fewest ranks that each get at most half a rank's tokens and half its fair share of work
    // from this document; a short document (k = 1) stays whole and needs no communication.
    const std::int64_t by_tokens = (2 * len + capacity - 1) / capacity;
    // In double: 2 * work * W can pass 2^63 near the largest rows (S = 2^30), the ratio cannot.
    const auto by_work = static_cast<std::int64_t>(
        total > 0 ? std::ceil(2.0 * static_cast<double>(work[d]) * static_cast<double>(w) / static_cast<double>(total)) : 1.0);
    const std::int64_t k = std::clamp<std::int64_t>(std::max(by_tokens, by_work), 1, w);
    const auto targets = placement_order(ranks, (len + k - 1) / k);
    if (k == 1) {
      place(ranks[targets[0]], doc);
      continue;
    }
    // Head-tail over k ranks: 2k chunks (on block boundaries when the document is long enough), the j-th
    // chosen rank taking chunk j and chunk 2k-1-j, which balances causal work among them.
    const std::int64_t chunks = 2 * k;
    const std::int64_t unit = len >= chunks * block ? block : 1;
    auto cut = [&](std::int64_t c) { return doc.begin + (c == chunks ? len : len / unit * c / chunks * unit); };
    for (std::int64_t j = 0; j < k; ++j) {
      Rank& rank = ranks[targets[static_cast<std::size_t>(j)]];
      place(rank, {cut(j), cut(j + 1), false});
      place(rank, {cut(chunks - 1 - j), cut(chunks - j), false});
    }
  }
  // Leftovers fill the roomiest ranks in consecutive pieces (every rank ends with exactly S/W tokens).
  for (const Range& r : overflow) {
    for (std::int64_t at = r.begin; at < r.end;) {
      Rank& roomiest = *std::max_element(ranks.begin(), ranks.end(), [](const Rank& a, const Rank& b) { return a.room < b.room; });
      const std::int64_t take = std::min(roomiest.room, r.end - at);
      give(roomiest, mask, {at, at + take, false});
      at += take;
    }
  }
  Permutation perm;
  perm.reserve(static_cast<std::size_t>(seq_len));
  for (Rank& r : ranks) {
    // Whole documents first, in order, so that their tiles stay aligned; then the pieces of split ones.
    std::sort(r.ranges.begin(), r.ranges.end(),
              [](const Range& a, const Range& b) { return a.whole != b.whole ? a.whole : a.begin < b.begin; });
    for (const Range& range : r.ranges) {
      for (std::int64_t i = range.begin; i < range.end; ++i) perm.push_back(i);
    }
  }
  return perm;
}

class DocumentHybridBalancer final : public Balancer {
 public:
  std::string_view name() const override { return "document_hybrid"; }
  std::string_view summary() const override {
    return "cpsim (after WLB-LLM): long documents head-tail over all ranks, short ones whole on the least-loaded rank; "
           "needs S % W == 0";
  }
  Result<std::vector<Permutation>> rearrange(const BalancerInput& in) const override {
    if (auto ok = check_balancer_input(in); !ok) return ok.error();
    std::vector<Permutation> rows;
    rows.reserve(in.workload.documents.size());
    for (const auto& docs : in.workload.documents) {
      const RowMask mask(in.workload.mask, in.workload.seq_len, docs);
      rows.push_back(hybrid_row(mask, docs, in.workload.seq_len, in.world_size, in.block_size));
    }
    return rows;
  }
};

}  // namespace

std::unique_ptr<Balancer> make_document_hybrid_balancer() { return std::make_unique<DocumentHybridBalancer>(); }

}  // namespace cpsim
