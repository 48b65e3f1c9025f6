// Helpers shared by the core tests: small workloads and an independent brute-force oracle that
// evaluates the mask definition on every (q, k) pair (no interval arithmetic).
#pragma once

#include <cstdint>
#include <vector>

#include "core/layout.h"
#include "core/work.h"
#include "core/workload.h"

namespace cpsim::testing {

inline Workload make_workload(std::int64_t seq_len, MaskKind kind, std::vector<std::vector<std::int64_t>> documents,
                              std::int64_t window = 0, std::int64_t prefix = 0) {
  Workload w;
  w.seq_len = seq_len;
  w.mask.kind = kind;
  w.mask.window = window;
  w.mask.prefix = prefix;
  w.documents = std::move(documents);
  return w;
}

// The mask straight from its definition.
inline bool visible(const Workload& w, const std::vector<std::int64_t>& doc_of, std::int64_t q, std::int64_t k) {
  const bool same_doc = doc_of[static_cast<std::size_t>(q)] == doc_of[static_cast<std::size_t>(k)];
  switch (w.mask.kind) {
    case MaskKind::kCausal: return k <= q;
    case MaskKind::kFull: return true;
    case MaskKind::kDocumentCausal: return same_doc && k <= q;
    case MaskKind::kDocumentFull: return same_doc;
    case MaskKind::kSlidingWindow: return k <= q && q - k < w.mask.window;
    case MaskKind::kDocumentSlidingWindow: return same_doc && k <= q && q - k < w.mask.window;
    case MaskKind::kPrefixLm: return k <= q || k < w.mask.prefix;
  }
  return false;
}

inline std::vector<std::int64_t> document_ids(const std::vector<std::int64_t>& docs) {
  std::vector<std::int64_t> ids;
  for (std::size_t d = 0; d < docs.size(); ++d) ids.insert(ids.end(), static_cast<std::size_t>(docs[d]), static_cast<std::int64_t>(d));
  return ids;
}

// Enumerates every (q, k) pair of every (rank, step) and classifies every tile; O(S^2) per row.
inline WorkAccount brute_force_work(const Workload& w, const std::vector<RowLayout>& layouts, std::int64_t tile) {
  const std::int64_t world = layouts.front().world_size();
  const std::int64_t n = layouts.front().shard_len();
  const std::int64_t tiles = (n + tile - 1) / tile;
  WorkAccount account(world, tile, tiles);
  for (std::size_t row = 0; row < layouts.size(); ++row) {
    const auto doc_of = document_ids(w.documents[row]);
    const auto& rearrange = layouts[row].rearrange();
    for (std::int64_t r = 0; r < world; ++r) {
      for (std::int64_t i = 0; i < world; ++i) {
        const std::int64_t src = ((r - i) % world + world) % world;
        for (std::int64_t qt = 0; qt < tiles; ++qt) {
          std::int64_t row_tiles = 0;
          for (std::int64_t kt = 0; kt < tiles; ++kt) {
            std::int64_t seen = 0;
            std::int64_t cells = 0;
            for (std::int64_t qs = qt * tile; qs < std::min(n, (qt + 1) * tile); ++qs) {
              for (std::int64_t ks = kt * tile; ks < std::min(n, (kt + 1) * tile); ++ks) {
                const std::int64_t q = rearrange[static_cast<std::size_t>(r * n + qs)];
                const std::int64_t k = rearrange[static_cast<std::size_t>(src * n + ks)];
                ++cells;
                seen += visible(w, doc_of, q, k);
              }
            }
            account.step_pairs(r, i) += seen;
            if (seen == cells) {
              ++account.step_tiles(r, i).full;
            } else if (seen > 0) {
              ++account.step_tiles(r, i).partial;
            }
            row_tiles += seen > 0;
          }
          account.step_rows(r, i).add(row_tiles);
        }
      }
    }
    ++account.rows_accounted;
  }
  return account;
}

}  // namespace cpsim::testing
