// The three packers. Concat is one pass in file order. First-fit and best-fit decreasing sort the pieces longest
// first and find a row in O(log rows): a max-tree over the rows' free space (first fit) or an ordered set of
// (free space, row) (best fit), so a million documents pack in about a second.
#include "dataset/packing.h"

#include <algorithm>
#include <cassert>
#include <numeric>
#include <set>

#include "core/limits.h"

namespace cpsim {
namespace {

struct NamedStrategy {
  PackStrategy strategy;
  std::string_view name;
};
constexpr NamedStrategy kStrategies[] = {{PackStrategy::kConcat, "concat"},
                                         {PackStrategy::kFirstFitDecreasing, "ffd"},
                                         {PackStrategy::kBestFitDecreasing, "best_fit"}};

std::int64_t round_up(std::int64_t length, std::int64_t multiple) { return (length + multiple - 1) / multiple * multiple; }

std::string ordinal(std::int64_t n) {
  const std::int64_t tens = n % 100, ones = n % 10;
  const char* suffix = (tens >= 11 && tens <= 13) ? "th" : ones == 1 ? "st" : ones == 2 ? "nd" : ones == 3 ? "rd" : "th";
  return std::to_string(n) + suffix;
}

Status check_spec(const PackSpec& s) {
  if (s.seq_len <= 0 || s.seq_len > kMaxTokens) {
    return bad_input("--seq-len: must be from 1 to " + std::to_string(kMaxTokens) + " tokens (2^24), got " + std::to_string(s.seq_len));
  }
  if (s.multiple_of <= 0) return bad_input("--multiple-of: must be positive, got " + std::to_string(s.multiple_of));
  if (s.seq_len % s.multiple_of != 0) {
    return bad_input("--multiple-of: " + std::to_string(s.multiple_of) + " does not divide --seq-len " + std::to_string(s.seq_len));
  }
  if (s.max_rows <= 0 || s.max_rows > kMaxTokens) {
    return bad_input("--rows: must be from 1 to " + std::to_string(kMaxTokens) + ", got " + std::to_string(s.max_rows));
  }
  return Ok{};
}

PackStats input_stats(const std::vector<std::int64_t>& lengths) {
  PackStats st;
  st.documents_in = static_cast<std::int64_t>(lengths.size());
  for (const std::int64_t l : lengths) {
    assert(l > 0 && l <= kMaxTokens);
    st.tokens_in += l;
    st.longest_in = std::max(st.longest_in, l);
  }
  return st;
}

Error nothing_left(const PackStats& st, const PackSpec& spec, const std::string& source) {
  return bad_input(source + ": --drop-last: the documents (" + std::to_string(st.tokens_in) + " tokens) fill less than one row of " +
                   std::to_string(spec.seq_len) + " tokens, and it is dropped; nothing is left (leave out --drop-last to pad it)");
}

Result<PackedRows> pack_concat(const std::vector<std::int64_t>& lengths, const PackSpec& spec, const std::string& source) {
  PackedRows out;
  out.seq_len = spec.seq_len;
  PackStats& st = out.stats;
  st = input_stats(lengths);
  const std::int64_t s = spec.seq_len, m = spec.multiple_of;
  std::int64_t rounded_total = 0;
  for (const std::int64_t l : lengths) rounded_total += round_up(l, m);
  st.rows_needed = (rounded_total + s - 1) / s;

  std::vector<std::int64_t> row;  // the row being filled
  std::int64_t fill = 0, row_data = 0, row_rounding = 0;
  bool stopped = false;  // max_rows rows are full
  for (const std::int64_t length : lengths) {
    std::int64_t left = round_up(length, m), data_left = length;
    std::int64_t pieces = 0;
    while (left > 0 && !stopped) {
      const std::int64_t take = std::min(left, s - fill);
      const std::int64_t data = std::min(take, data_left);  // the document's tokens come first, its rounding last
      row.push_back(take);
      fill += take;
      left -= take;
      data_left -= data;
      row_data += data;
      row_rounding += take - data;
      ++pieces;
      if (fill == s) {
        out.add_row(row, 0);
        st.tokens_placed += row_data;
        st.rounding_padding += row_rounding;
        row.clear();
        fill = row_data = row_rounding = 0;
        stopped = out.rows() == spec.max_rows;
      }
    }
    if (pieces > 1 || (pieces == 1 && left > 0)) ++st.documents_cut;
    if (stopped) break;
  }
  if (!stopped && fill > 0) {
    if (spec.drop_last) {
      st.last_row_dropped = true;
      if (out.rows() == 0) return nothing_left(st, spec, source);
    } else {
      row.push_back(s - fill);
      out.add_row(row, s - fill);
      st.tokens_placed += row_data;
      st.rounding_padding += row_rounding;
      st.row_padding += s - fill;
    }
  }
  st.tokens_left_out = st.tokens_in - st.tokens_placed;
  return out;
}

// A piece to pack: a document, or one part of it (split_long).
struct Piece {
  std::int32_t length;  // tokens in the row, the document's rounding included (< 2^25)
  std::int32_t data;    // of those, the document's own tokens
  std::int32_t doc;     // index in the input
};

// Free space per row as a max-tree: the first row with at least x free is found by descending from the root.
class FirstFitRows {
 public:
  explicit FirstFitRows(std::size_t most_rows) {
    while (leaves_ < most_rows) leaves_ *= 2;
    tree_.assign(2 * leaves_, 0);
  }
  // The first row with `need` free, or a new one; takes `need` from it.
  std::int32_t place(std::int32_t need, std::int32_t row_size) {
    std::size_t node = 1;
    std::int32_t row = 0;
    if (tree_[1] >= need) {
      while (node < leaves_) node = tree_[2 * node] >= need ? 2 * node : 2 * node + 1;
      row = static_cast<std::int32_t>(node - leaves_);
    } else {
      row = opened_++;
      node = leaves_ + static_cast<std::size_t>(row);
      tree_[node] = row_size;
    }
    tree_[node] -= need;
    for (node /= 2; node >= 1; node /= 2) tree_[node] = std::max(tree_[2 * node], tree_[2 * node + 1]);
    return row;
  }
  std::int32_t rows() const { return opened_; }
  std::int32_t free_space(std::int32_t row) const { return tree_[leaves_ + static_cast<std::size_t>(row)]; }

 private:
  std::size_t leaves_ = 1;
  std::vector<std::int32_t> tree_;
  std::int32_t opened_ = 0;
};

// Rows with free space ordered by (free space, row): the tightest row with at least x free is a lower_bound.
class BestFitRows {
 public:
  explicit BestFitRows(std::size_t most_rows) { free_.reserve(std::min<std::size_t>(most_rows, 1 << 20)); }
  std::int32_t place(std::int32_t need, std::int32_t row_size) {
    auto it = open_.lower_bound({need, -1});
    std::int32_t row = 0, free = 0;
    if (it != open_.end()) {
      free = it->first;
      row = it->second;
      open_.erase(it);
    } else {
      row = static_cast<std::int32_t>(free_.size());
      free = row_size;
      free_.push_back(free);
    }
    free -= need;
    free_[static_cast<std::size_t>(row)] = free;
    if (free > 0) open_.insert({free, row});
    return row;
  }
  std::int32_t rows() const { return static_cast<std::int32_t>(free_.size()); }
  std::int32_t free_space(std::int32_t row) const { return free_[static_cast<std::size_t>(row)]; }

 private:
  std::set<std::pair<std::int32_t, std::int32_t>> open_;
  std::vector<std::int32_t> free_;
};

template <typename Rows>
Result<PackedRows> pack_decreasing(const std::vector<std::int64_t>& lengths, const PackSpec& spec, const std::string& source) {
  PackedRows out;
  out.seq_len = spec.seq_len;
  PackStats& st = out.stats;
  st = input_stats(lengths);
  const std::int64_t s = spec.seq_len, m = spec.multiple_of;
  const std::string name(pack_strategy_name(spec.strategy));

  std::vector<Piece> pieces;
  std::vector<std::uint8_t> split(lengths.size(), 0);  // 1: cut into pieces; 2: and counted
  for (std::size_t d = 0; d < lengths.size(); ++d) {
    const std::int64_t length = lengths[d], rounded = round_up(length, m);
    if (rounded > s && !spec.split_long) {
      return bad_input(source + ": document: the " + ordinal(static_cast<std::int64_t>(d) + 1) + " document (" + std::to_string(length) +
                       " tokens" + (rounded != length ? ", " + std::to_string(rounded) + " rounded up to --multiple-of" : std::string()) +
                       ") is longer than --seq-len " + std::to_string(s) + ", and " + name +
                       " does not cut documents; pass --split-long to cut such documents into " + std::to_string(s) +
                       "-token pieces, or use --pack concat");
    }
    for (std::int64_t at = 0; at < rounded; at += s) {
      if (static_cast<std::int64_t>(pieces.size()) >= kMaxTokens) {
        return bad_input(source + ": --split-long: cutting the documents into pieces of " + std::to_string(s) + " tokens makes more than " +
                         std::to_string(kMaxTokens) + " pieces (2^24), more than cpsim packs; use a longer --seq-len");
      }
      const std::int64_t len = std::min(s, rounded - at);
      const std::int64_t data = std::clamp<std::int64_t>(length - at, 0, len);
      pieces.push_back({static_cast<std::int32_t>(len), static_cast<std::int32_t>(data), static_cast<std::int32_t>(d)});
    }
    if (rounded > s) split[d] = 1;
  }
  // Longest first; equal lengths keep file order, so the packing is the same on every run and machine.
  std::vector<std::int32_t> order(pieces.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return pieces[static_cast<std::size_t>(a)].length > pieces[static_cast<std::size_t>(b)].length;
  });
  Rows rows(pieces.size());  // no more rows than pieces
  std::vector<std::int32_t> row_of(pieces.size());
  for (const std::int32_t p : order) {
    row_of[static_cast<std::size_t>(p)] = rows.place(pieces[static_cast<std::size_t>(p)].length, static_cast<std::int32_t>(s));
  }

  st.rows_needed = rows.rows();
  std::int64_t kept = std::min(st.rows_needed, spec.max_rows);
  if (spec.drop_last && st.rows_needed <= spec.max_rows && rows.free_space(static_cast<std::int32_t>(st.rows_needed - 1)) > 0) {
    st.last_row_dropped = true;
    --kept;
    if (kept == 0) return nothing_left(st, spec, source);
  }
  // The kept rows' pieces in placement order (longest first), gathered by a counting sort on the row.
  std::vector<std::int64_t> begin(static_cast<std::size_t>(kept) + 1, 0);
  for (const std::int32_t r : row_of) {
    if (r < kept) ++begin[static_cast<std::size_t>(r) + 1];
  }
  std::partial_sum(begin.begin(), begin.end(), begin.begin());
  std::vector<std::int64_t> flat(static_cast<std::size_t>(begin.back()));
  std::vector<std::int64_t> next(begin.begin(), begin.end() - 1);
  for (const std::int32_t p : order) {
    const Piece& piece = pieces[static_cast<std::size_t>(p)];
    const std::int32_t r = row_of[static_cast<std::size_t>(p)];
    if (r >= kept) continue;
    flat[static_cast<std::size_t>(next[static_cast<std::size_t>(r)]++)] = piece.length;
    st.tokens_placed += piece.data;
    st.rounding_padding += piece.length - piece.data;
    if (split[static_cast<std::size_t>(piece.doc)] == 1) {
      split[static_cast<std::size_t>(piece.doc)] = 2;
      ++st.documents_cut;
    }
  }
  std::vector<std::int64_t> row;
  for (std::int64_t r = 0; r < kept; ++r) {
    row.assign(flat.begin() + begin[static_cast<std::size_t>(r)], flat.begin() + begin[static_cast<std::size_t>(r) + 1]);
    const std::int64_t pad = rows.free_space(static_cast<std::int32_t>(r));
    if (pad > 0) row.push_back(pad);
    out.add_row(row, pad);
    st.row_padding += pad;
  }
  st.tokens_left_out = st.tokens_in - st.tokens_placed;
  return out;
}

}  // namespace

std::optional<PackStrategy> parse_pack_strategy(std::string_view name) {
  for (const auto& s : kStrategies) {
    if (s.name == name) return s.strategy;
  }
  return std::nullopt;
}

std::string_view pack_strategy_name(PackStrategy strategy) {
  for (const auto& s : kStrategies) {
    if (s.strategy == strategy) return s.name;
  }
  return "unknown";
}

std::span<const std::int64_t> PackedRows::row(std::int64_t r) const {
  const auto b = static_cast<std::size_t>(begin_[static_cast<std::size_t>(r)]);
  const auto e = static_cast<std::size_t>(begin_[static_cast<std::size_t>(r) + 1]);
  return std::span<const std::int64_t>(lengths_).subspan(b, e - b);
}

std::vector<std::vector<std::int64_t>> PackedRows::documents(std::int64_t first, std::int64_t count) const {
  std::vector<std::vector<std::int64_t>> out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::int64_t r = first; r < first + count && r < rows(); ++r) {
    const auto docs = row(r);
    out.emplace_back(docs.begin(), docs.end());
  }
  return out;
}

void PackedRows::add_row(std::span<const std::int64_t> documents, std::int64_t padding) {
  lengths_.insert(lengths_.end(), documents.begin(), documents.end());
  begin_.push_back(static_cast<std::int64_t>(lengths_.size()));
  padding_.push_back(padding);
}

Result<PackedRows> pack_documents(const std::vector<std::int64_t>& lengths, const PackSpec& spec, const std::string& source) {
  CPSIM_RETURN_IF_ERROR(check_spec(spec));
  if (lengths.empty()) return bad_input(source + ": no document lengths to pack");
  if (static_cast<std::int64_t>(lengths.size()) > kMaxTokens) {
    return bad_input(source + ": more than " + std::to_string(kMaxTokens) + " documents (2^24), the most cpsim packs");
  }
  switch (spec.strategy) {
    case PackStrategy::kConcat: return pack_concat(lengths, spec, source);
    case PackStrategy::kFirstFitDecreasing: return pack_decreasing<FirstFitRows>(lengths, spec, source);
    case PackStrategy::kBestFitDecreasing: return pack_decreasing<BestFitRows>(lengths, spec, source);
  }
  return bad_input("--pack: unknown strategy");
}

Result<PackedRows> pack_as_given(const std::vector<std::int64_t>& lengths, std::int64_t multiple_of, const std::string& source) {
  if (multiple_of <= 0) return bad_input("--multiple-of: must be positive, got " + std::to_string(multiple_of));
  if (lengths.empty()) return bad_input(source + ": no document lengths");
  PackedRows out;
  PackStats& st = out.stats;
  st = input_stats(lengths);
  std::vector<std::int64_t> row;
  row.reserve(lengths.size());
  std::int64_t total = 0;
  for (const std::int64_t l : lengths) {
    row.push_back(round_up(l, multiple_of));
    total += row.back();
  }
  if (total > kMaxTokens) {
    return bad_input(source + ": documents: " + std::to_string(lengths.size()) + " documents hold " + std::to_string(total) +
                     " tokens, more than the " + std::to_string(kMaxTokens) +
                     " (2^24) one workload may hold as one row; pack them into rows with --seq-len S (and --rows N, or --batch-size B for BATCHES.jsonl)");
  }
  out.seq_len = total;
  out.add_row(row, 0);
  st.rows_needed = 1;
  st.tokens_placed = st.tokens_in;
  st.rounding_padding = total - st.tokens_in;
  return out;
}

}  // namespace cpsim
