// The packers: hand-checked examples of concat, first-fit and best-fit decreasing, and properties on random
// inputs read through every file format: rows sum to seq_len, every token is accounted for (padding apart), cut
// documents become documents of their own, ffd and best_fit never cut, and the same input packs the same way.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "core/limits.h"
#include "dataset/doc_lengths.h"
#include "dataset/npy_bytes.h"
#include "dataset/packing.h"

namespace cpsim {
namespace {

using Rows = std::vector<std::vector<std::int64_t>>;

PackSpec spec(std::int64_t seq_len, PackStrategy strategy, std::int64_t max_rows = 1000000) {
  PackSpec s;
  s.seq_len = seq_len;
  s.strategy = strategy;
  s.max_rows = max_rows;
  return s;
}

PackedRows pack(const std::vector<std::int64_t>& lengths, const PackSpec& s) {
  auto r = pack_documents(lengths, s, "f");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(*r) : PackedRows{};
}

Rows all_rows(const PackedRows& p) { return p.documents(0, p.rows()); }

std::int64_t round_up(std::int64_t l, std::int64_t m) { return (l + m - 1) / m * m; }

// What every packing must satisfy, whatever the strategy.
void expect_invariants(const std::vector<std::int64_t>& lengths, const PackSpec& s, const PackedRows& p) {
  const PackStats& st = p.stats;
  EXPECT_EQ(p.seq_len, s.seq_len);
  EXPECT_EQ(st.documents_in, static_cast<std::int64_t>(lengths.size()));
  EXPECT_EQ(st.tokens_in, std::accumulate(lengths.begin(), lengths.end(), std::int64_t{0}));
  EXPECT_EQ(st.tokens_placed + st.tokens_left_out, st.tokens_in);
  EXPECT_LE(p.rows(), s.max_rows);
  std::int64_t pieces_total = 0, padding_total = 0;
  for (std::int64_t r = 0; r < p.rows(); ++r) {
    const auto row = p.row(r);
    ASSERT_FALSE(row.empty());
    EXPECT_EQ(std::accumulate(row.begin(), row.end(), std::int64_t{0}), s.seq_len) << "row " << r;
    for (const std::int64_t d : row) {
      EXPECT_GT(d, 0);
      EXPECT_LE(d, s.seq_len);
      EXPECT_EQ(d % s.multiple_of, 0) << "row " << r;
    }
    const std::int64_t pad = p.row_padding(r);
    if (pad > 0) {
      EXPECT_EQ(row.back(), pad) << "the padding document comes last";
    }
    padding_total += pad;
    pieces_total += s.seq_len - pad;
  }
  EXPECT_EQ(padding_total, st.row_padding);
  // The documents' tokens in the rows are the input's placed tokens plus their rounding, nothing else.
  EXPECT_EQ(pieces_total, st.tokens_placed + st.rounding_padding);
  if (s.multiple_of == 1) {
    EXPECT_EQ(st.rounding_padding, 0);
  }
  EXPECT_EQ(p.rows() + (st.last_row_dropped ? 1 : 0), std::min(st.rows_needed, s.max_rows));
}

// The non-padding documents of the rows, in row order.
std::vector<std::int64_t> pieces(const PackedRows& p) {
  std::vector<std::int64_t> out;
  for (std::int64_t r = 0; r < p.rows(); ++r) {
    const auto row = p.row(r);
    out.insert(out.end(), row.begin(), row.end() - (p.row_padding(r) > 0 ? 1 : 0));
  }
  return out;
}

TEST(Packing, ConcatCutsAtRowEndsAndTheTailStartsTheNextRow) {
  const std::vector<std::int64_t> lengths = {5, 7, 3};
  const PackedRows p = pack(lengths, spec(8, PackStrategy::kConcat));
  EXPECT_EQ(all_rows(p), (Rows{{5, 3}, {4, 3, 1}}));
  EXPECT_EQ(p.row_padding(1), 1);
  EXPECT_EQ(p.stats.documents_cut, 1);
  EXPECT_EQ(p.stats.row_padding, 1);
  EXPECT_EQ(p.stats.rows_needed, 2);
  expect_invariants(lengths, spec(8, PackStrategy::kConcat), p);
  // A document longer than several rows is cut at each row end: its pieces are documents of the mask.
  EXPECT_EQ(all_rows(pack({2, 20, 2}, spec(8, PackStrategy::kConcat))), (Rows{{2, 6}, {8}, {6, 2}}));
}

TEST(Packing, ConcatDropLastAndMaxRows) {
  auto s = spec(8, PackStrategy::kConcat);
  s.drop_last = true;
  const PackedRows dropped = pack({5, 7, 3}, s);
  EXPECT_EQ(all_rows(dropped), (Rows{{5, 3}}));
  EXPECT_TRUE(dropped.stats.last_row_dropped);
  EXPECT_EQ(dropped.stats.tokens_placed, 8);
  EXPECT_EQ(dropped.stats.tokens_left_out, 7);
  expect_invariants({5, 7, 3}, s, dropped);
  // Rows that come out full are never dropped.
  EXPECT_FALSE(pack({8, 8}, s).stats.last_row_dropped);
  // max_rows keeps the first rows; the rest are counted as left out.
  auto first = spec(4, PackStrategy::kConcat, 2);
  const PackedRows kept = pack({3, 3, 3, 3, 3}, first);
  EXPECT_EQ(all_rows(kept), (Rows{{3, 1}, {2, 2}}));
  EXPECT_EQ(kept.stats.rows_needed, 4);
  EXPECT_EQ(kept.stats.tokens_left_out, 7);
  EXPECT_EQ(kept.stats.documents_cut, 2);  // the 2nd document (3 = 1 + 2) and the 3rd (whose head is in row 2)
  expect_invariants({3, 3, 3, 3, 3}, first, kept);
  auto nothing = spec(100, PackStrategy::kConcat);
  nothing.drop_last = true;
  EXPECT_NE(pack_documents({5, 7}, nothing, "f").error().message.find("f: --drop-last: the documents (12 tokens) fill less than one row"),
            std::string::npos);
}

TEST(Packing, FirstFitAndBestFitDecreasingDifferWhereTheyShould) {
  // Longest first: 8, 7, 5, 4, 2, 1 into rows of 10. The 1 goes to the first row with room under first fit
  // (7's, with 3 free) and to the tightest under best fit (5 + 4's, with 1 free).
  const std::vector<std::int64_t> lengths = {7, 1, 8, 5, 4, 2};
  const PackedRows ffd = pack(lengths, spec(10, PackStrategy::kFirstFitDecreasing));
  const PackedRows bfd = pack(lengths, spec(10, PackStrategy::kBestFitDecreasing));
  EXPECT_EQ(all_rows(ffd), (Rows{{8, 2}, {7, 1, 2}, {5, 4, 1}}));
  EXPECT_EQ(all_rows(bfd), (Rows{{8, 2}, {7, 3}, {5, 4, 1}}));
  EXPECT_EQ(ffd.row_padding(1), 2);
  EXPECT_EQ(ffd.row_padding(2), 1);
  EXPECT_EQ(bfd.row_padding(1), 3);
  EXPECT_EQ(bfd.row_padding(2), 0);
  EXPECT_EQ(ffd.stats.documents_cut, 0);
  EXPECT_EQ(bfd.stats.row_padding, 3);
  expect_invariants(lengths, spec(10, PackStrategy::kFirstFitDecreasing), ffd);
  expect_invariants(lengths, spec(10, PackStrategy::kBestFitDecreasing), bfd);
}

TEST(Packing, LongDocumentsAreRefusedOrSplitWithoutCutting) {
  for (const auto strategy : {PackStrategy::kFirstFitDecreasing, PackStrategy::kBestFitDecreasing}) {
    auto s = spec(8, strategy);
    const auto refused = pack_documents({3, 20, 2}, s, "f");
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("f: document: the 2nd document (20 tokens) is longer than --seq-len 8"), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("pass --split-long"), std::string::npos);
    s.split_long = true;
    const PackedRows p = pack({3, 20, 2}, s);
    EXPECT_EQ(p.stats.documents_cut, 1);
    auto got = pieces(p);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::int64_t>{2, 3, 4, 8, 8}));  // 20 = 8 + 8 + 4
    expect_invariants({3, 20, 2}, s, p);
  }
}

TEST(Packing, MultipleOfPadsEachDocumentLikeTransformerEnginesThd) {
  for (const auto strategy : {PackStrategy::kConcat, PackStrategy::kFirstFitDecreasing, PackStrategy::kBestFitDecreasing}) {
    auto s = spec(16, strategy);
    s.multiple_of = 4;
    const std::vector<std::int64_t> lengths = {5, 9, 3, 1, 12};
    const PackedRows p = pack(lengths, s);
    EXPECT_EQ(p.stats.rounding_padding, (8 - 5) + (12 - 9) + (4 - 3) + (4 - 1));
    expect_invariants(lengths, s, p);
  }
  auto bad = spec(16, PackStrategy::kConcat);
  bad.multiple_of = 5;
  EXPECT_EQ(pack_documents({4}, bad, "f").error().message, "--multiple-of: 5 does not divide --seq-len 16");
}

TEST(Packing, AsGivenIsOneRowOfEveryDocument) {
  auto p = pack_as_given({4, 8, 4}, 1, "f");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->seq_len, 16);
  EXPECT_EQ(p->documents(0, 1), (Rows{{4, 8, 4}}));
  auto rounded = pack_as_given({3, 5}, 4, "f");
  ASSERT_TRUE(rounded.ok());
  EXPECT_EQ(rounded->documents(0, 1), (Rows{{4, 8}}));
  EXPECT_EQ(rounded->stats.rounding_padding, 4);
  const std::vector<std::int64_t> many(3, kMaxTokens / 2);
  const auto too_many = pack_as_given(many, 1, "f");
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("f: documents: 3 documents hold 25165824 tokens, more than the 16777216 (2^24)"), std::string::npos);
}

TEST(Packing, BadSpecsNameTheFlag) {
  EXPECT_EQ(pack_documents({4}, spec(0, PackStrategy::kConcat), "f").error().message,
            "--seq-len: must be from 1 to 16777216 tokens (2^24), got 0");
  EXPECT_EQ(pack_documents({4}, spec(-8, PackStrategy::kConcat), "f").error().message,
            "--seq-len: must be from 1 to 16777216 tokens (2^24), got -8");
  EXPECT_EQ(pack_documents({4}, spec(8, PackStrategy::kConcat, 0), "f").error().message, "--rows: must be from 1 to 16777216, got 0");
  EXPECT_EQ(pack_documents({}, spec(8, PackStrategy::kConcat), "f").error().message, "f: no document lengths to pack");
  auto tiny = spec(1, PackStrategy::kFirstFitDecreasing);
  tiny.split_long = true;
  EXPECT_NE(pack_documents({kMaxTokens, 2}, tiny, "f").error().message.find("more than 16777216 pieces"), std::string::npos);
}

// Random lengths, written in every format, read back, and packed every way: the properties hold and the same
// input gives the same rows.
TEST(Packing, PropertiesOnRandomInputsFromEveryFormat) {
  std::mt19937_64 rng(2024);
  for (int trial = 0; trial < 40; ++trial) {
    const std::int64_t seq_len = std::int64_t{1} << (4 + rng() % 10);  // 16 to 8192
    std::vector<std::int64_t> lengths(1 + rng() % 400);
    for (auto& l : lengths) {
      // Mostly short, some longer than a row: a lognormal-ish spread.
      l = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(rng() % 8 == 0 ? 3 * seq_len : seq_len / 2 + 1));
    }
    std::string txt, csv = "id,len\n", jsonl;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      txt += std::to_string(lengths[i]) + "\n";
      csv += std::to_string(i) + ",\"" + std::to_string(lengths[i]) + "\"\n";
      jsonl += R"({"input_ids": [)" + std::string(static_cast<std::size_t>(std::min<std::int64_t>(lengths[i], 3)), '1') + "], \"n\": " +
               std::to_string(lengths[i]) + "}\n";
    }
    struct Input {
      std::string bytes;
      LengthReadOptions options;
    };
    const std::vector<Input> inputs = {
        {txt, {LengthFormat::kText, "", ""}},
        {csv, {LengthFormat::kCsv, "len", ""}},
        {jsonl, {LengthFormat::kJsonl, "", "n"}},
        {testing::npy_bytes(lengths, "<i4"), {LengthFormat::kNpy, "", ""}},
        {testing::npy_bytes(lengths, ">i8"), {LengthFormat::kNpy, "", ""}},
        {testing::npy_bytes(lengths, "<u4"), {LengthFormat::kNpy, "", ""}},
    };
    for (const Input& in : inputs) {
      auto read = parse_doc_lengths(in.bytes, "f", in.options, 1 + rng() % 100);
      ASSERT_TRUE(read.ok()) << read.error().message;
      ASSERT_EQ(*read, lengths);
    }
    for (const auto strategy : {PackStrategy::kConcat, PackStrategy::kFirstFitDecreasing, PackStrategy::kBestFitDecreasing}) {
      for (const bool drop_last : {false, true}) {
        PackSpec s = spec(seq_len, strategy, rng() % 3 == 0 ? 1 + static_cast<std::int64_t>(rng() % 5) : 1000000);
        s.drop_last = drop_last;
        s.split_long = strategy != PackStrategy::kConcat;
        s.multiple_of = rng() % 2 ? 1 : std::int64_t{1} << (rng() % 4);
        auto a = pack_documents(lengths, s, "f");
        if (!a.ok()) {
          // Only drop_last of a single short row may leave nothing.
          EXPECT_TRUE(drop_last) << a.error().message;
          continue;
        }
        expect_invariants(lengths, s, *a);
        auto b = pack_documents(lengths, s, "f");
        ASSERT_TRUE(b.ok());
        EXPECT_EQ(all_rows(*a), all_rows(*b)) << "packing is deterministic";
        const bool all_kept = a->stats.tokens_left_out == 0;
        if (strategy == PackStrategy::kConcat) {
          // The pieces, read in row order, are the (rounded) documents in file order, cut at row ends only.
          std::vector<std::int64_t> rounded;
          for (const auto l : lengths) rounded.push_back(round_up(l, s.multiple_of));
          const auto got = pieces(*a);
          std::size_t d = 0;
          std::int64_t left = rounded[0], cuts = 0, pos = 0;
          bool cut = false;
          for (const std::int64_t piece : got) {
            ASSERT_LT(d, rounded.size());
            ASSERT_LE(piece, left) << "a piece spans two documents";
            if (piece < rounded[d]) cut = true;
            left -= piece;
            pos += piece;
            if (left > 0) {
              EXPECT_EQ(pos % seq_len, 0) << "a document is cut only at a row end";
            }
            if (left == 0) {
              cuts += cut;
              cut = false;
              if (++d < rounded.size()) left = rounded[d];
            }
          }
          if (d < rounded.size()) cuts += cut;  // the document the kept rows end inside
          EXPECT_EQ(cuts, a->stats.documents_cut);
          if (all_kept) {
            EXPECT_EQ(d, rounded.size());
          }
        } else if (all_kept) {
          // No cutting: the pieces are the documents (or, for those longer than a row, their seq_len parts).
          std::vector<std::int64_t> expected;
          std::int64_t split = 0;
          for (const auto l : lengths) {
            const std::int64_t r = round_up(l, s.multiple_of);
            for (std::int64_t at = 0; at < r; at += seq_len) expected.push_back(std::min(seq_len, r - at));
            split += r > seq_len;
          }
          auto got = pieces(*a);
          std::sort(expected.begin(), expected.end());
          std::sort(got.begin(), got.end());
          EXPECT_EQ(got, expected);
          EXPECT_EQ(a->stats.documents_cut, split);
        }
        if (strategy != PackStrategy::kConcat) {
          // Free space only shrinks, so when a piece went to row r (first fit), or opened row r (best fit: the
          // row's first piece), every earlier row had less room than it, and still has.
          std::int64_t most_free_before = 0;
          for (std::int64_t r = 0; r < a->rows(); ++r) {
            const auto row = a->row(r);
            const std::size_t n = row.size() - (a->row_padding(r) > 0 ? 1 : 0);
            for (std::size_t i = 0; i < (strategy == PackStrategy::kFirstFitDecreasing ? n : std::min<std::size_t>(n, 1)); ++i) {
              EXPECT_GT(row[i], most_free_before) << "row " << r;
            }
            EXPECT_TRUE(std::is_sorted(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(n), std::greater<>()));
            most_free_before = std::max(most_free_before, a->row_padding(r));
          }
        }
      }
    }
  }
}

TEST(Packing, NamesRoundTrip) {
  for (const auto s : {PackStrategy::kConcat, PackStrategy::kFirstFitDecreasing, PackStrategy::kBestFitDecreasing}) {
    EXPECT_EQ(parse_pack_strategy(pack_strategy_name(s)), s);
  }
  EXPECT_EQ(parse_pack_strategy("first_fit"), std::nullopt);
}

TEST(Packing, AMillionDocumentsPackQuickly) {
  std::mt19937_64 rng(1);
  std::vector<std::int64_t> lengths(1000000);
  for (auto& l : lengths) l = 1 + static_cast<std::int64_t>(rng() % 8192);
  for (const auto strategy : {PackStrategy::kConcat, PackStrategy::kFirstFitDecreasing, PackStrategy::kBestFitDecreasing}) {
    const auto s = spec(8192, strategy);
    const PackedRows p = pack(lengths, s);
    expect_invariants(lengths, s, p);
    if (strategy != PackStrategy::kConcat) {
      // Decreasing fits leave little room: under 1% padding on uniform lengths.
      EXPECT_LT(static_cast<double>(p.stats.row_padding), 0.01 * static_cast<double>(p.rows() * 8192));
    }
  }
}

}  // namespace
}  // namespace cpsim
