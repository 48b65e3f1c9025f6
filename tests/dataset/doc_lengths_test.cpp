// The readers of document lengths: every format (text, CSV, JSONL, .npy of each integer dtype and byte order),
// fed in chunks of every size, and the refusals that name the file, the line or element, and the value.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/limits.h"
#include "dataset/doc_lengths.h"
#include "dataset/npy_bytes.h"

namespace cpsim {
namespace {

LengthReadOptions as(LengthFormat f, std::string column = "", std::string field = "") {
  LengthReadOptions o;
  o.format = f;
  o.column = std::move(column);
  o.field = std::move(field);
  return o;
}

// Reads `bytes` in chunks of 1, 2, 3, 7, 64 bytes and 64 KiB: every reader must give the same lengths whatever
// the chunk boundaries cut (a number, a quoted field, an .npy item or header).
std::vector<std::int64_t> read_all_ways(const std::string& bytes, const LengthReadOptions& o) {
  std::vector<std::int64_t> first;
  bool have = false;
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{64}, std::size_t{0}}) {
    auto r = parse_doc_lengths(bytes, "f", o, chunk);
    EXPECT_TRUE(r.ok()) << "chunk " << chunk << ": " << (r.ok() ? "" : r.error().message);
    if (!r.ok()) return {};
    if (!have) {
      first = *r;
      have = true;
    }
    EXPECT_EQ(*r, first) << "chunk " << chunk;
  }
  return first;
}

// The error message of reading `bytes` (expected to fail identically whatever the chunking).
std::string error_of(const std::string& bytes, const LengthReadOptions& o) {
  std::string message;
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{5}, std::size_t{0}}) {
    auto r = parse_doc_lengths(bytes, "f", o, chunk);
    EXPECT_FALSE(r.ok()) << "chunk " << chunk;
    if (r.ok()) return "(no error)";
    if (message.empty()) message = r.error().message;
    EXPECT_EQ(r.error().message, message) << "chunk " << chunk;
  }
  return message;
}

TEST(DocLengths, TextSkipsBlankLinesAndComments) {
  const std::string text = "# lengths of my data set\n4096\n\n  12 # a short one\r\n\t7\n# end\n9";
  EXPECT_EQ(read_all_ways(text, as(LengthFormat::kText)), (std::vector<std::int64_t>{4096, 12, 7, 9}));
  EXPECT_EQ(read_all_ways("\xEF\xBB\xBF" + text, as(LengthFormat::kText)), (std::vector<std::int64_t>{4096, 12, 7, 9}));
  EXPECT_EQ(error_of("\xEF\xBB" "5\n", as(LengthFormat::kText)), "f: line 1: expected a document length (a positive integer), got \"\xEF\xBB" "5\"");
}

TEST(DocLengths, TextRefusesWhatIsNotAPositiveIntegerNamingTheLine) {
  const auto txt = as(LengthFormat::kText);
  EXPECT_EQ(error_of("4\n-5\n", txt), "f: line 2: a document length must be positive, got -5");
  EXPECT_EQ(error_of("4\n\n0\n", txt), "f: line 3: a document length must be positive, got 0");
  EXPECT_EQ(error_of("1099511627776\n", txt), "f: line 1: document length 1099511627776 is more than the 16777216 tokens (2^24) of the largest workload");
  EXPECT_EQ(error_of("99999999999999999999999\n", txt).find("f: line 1: document length 99999999999999999999999 is more than"), 0u);
  EXPECT_EQ(error_of("12.5\n", txt), "f: line 1: expected a document length (a positive integer), got \"12.5\"");
  EXPECT_EQ(error_of("NaN\n", txt), "f: line 1: expected a document length (a positive integer), got \"NaN\"");
  EXPECT_EQ(error_of("1e3\n", txt), "f: line 1: expected a document length (a positive integer), got \"1e3\"");
  EXPECT_EQ(error_of("", txt), "f: no document lengths: the file is empty");
  EXPECT_EQ(error_of("# only a comment\n\n", txt), "f: no document lengths in its 2 line(s)");
  EXPECT_NE(error_of(std::string("12\n3\0\x01\x02", 6), txt).find("f: line 2: a NUL byte"), std::string::npos);
  EXPECT_NE(error_of(std::string(5000, 'x'), txt).find("f: line 1: longer than 4096 bytes"), std::string::npos);
}

TEST(DocLengths, CsvReadsTheNamedColumnWithQuotedFields) {
  const std::string csv =
      "id,\"num tokens\",text\n"
      "1,4096,\"hello, world\"\n"
      "2, 12 ,\"a \"\"quoted\"\" word\"\r\n"
      "\n"
      "3,7,\"two\nlines, and a comma\"\n"
      "4,\"9\",plain";
  EXPECT_EQ(read_all_ways(csv, as(LengthFormat::kCsv, "num tokens")), (std::vector<std::int64_t>{4096, 12, 7, 9}));
  EXPECT_EQ(read_all_ways(csv, as(LengthFormat::kCsv, "id")), (std::vector<std::int64_t>{1, 2, 3, 4}));
  // A byte-order mark before the header (spreadsheets write one) is not part of the first name.
  EXPECT_EQ(read_all_ways("\xEF\xBB\xBFid,len\n1,5\n", as(LengthFormat::kCsv, "id")), (std::vector<std::int64_t>{1}));
  // A file of one column needs no --column.
  EXPECT_EQ(read_all_ways("length\n5\n6\n", as(LengthFormat::kCsv)), (std::vector<std::int64_t>{5, 6}));
}

TEST(DocLengths, CsvRefusalsNameTheColumnAndLine) {
  const std::string csv = "id,len\n1,5\n2,x\n";
  EXPECT_EQ(error_of(csv, as(LengthFormat::kCsv, "length")), "f: --column: no column \"length\" in the header (columns: \"id\", \"len\")");
  EXPECT_EQ(error_of(csv, as(LengthFormat::kCsv)),
            "f: --column: a CSV file needs --column NAME, the header name of the column of lengths (columns: \"id\", \"len\")");
  EXPECT_EQ(error_of(csv, as(LengthFormat::kCsv, "len")), "f: line 3: len: expected a document length (a positive integer), got \"x\"");
  // Line numbers count the newlines inside quoted fields.
  EXPECT_EQ(error_of("t,len\n\"a\nb\",4\nc,-1\n", as(LengthFormat::kCsv, "len")), "f: line 4: len: a document length must be positive, got -1");
  EXPECT_EQ(error_of("id,len\n1\n", as(LengthFormat::kCsv, "len")), "f: line 2: column \"len\" is field 2 of the header, but this row has 1 field(s)");
  EXPECT_EQ(error_of("id,len\n", as(LengthFormat::kCsv, "len")), "f: no document lengths: only the header row");
  EXPECT_EQ(error_of("id,len\n1,\"5\n", as(LengthFormat::kCsv, "len")), "f: line 2: a quoted field is not closed before the end of the file");
}

TEST(DocLengths, JsonlReadsNumbersFieldsAndArrays) {
  EXPECT_EQ(read_all_ways("5\n\n7\r\n 9 \n", as(LengthFormat::kJsonl)), (std::vector<std::int64_t>{5, 7, 9}));
  const std::string jsonl =
      R"({"text": "a, b", "n": 7, "input_ids": [1, 2, 3]})" "\n"
      R"({"input_ids": [[1, 2], {"a": [4, 5, 6]}, "x", null, 3.5], "n": 1})" "\n"
      R"({"meta": {"input_ids": [9]}, "input_ids": [], "n": 2})" "\n";
  EXPECT_EQ(read_all_ways(jsonl, as(LengthFormat::kJsonl, "", "n")), (std::vector<std::int64_t>{7, 1, 2}));
  // An array's length counts its own elements only (nested arrays and objects count once); an empty one is 0,
  // which is refused on the line that has it.
  EXPECT_EQ(error_of(jsonl, as(LengthFormat::kJsonl, "", "input_ids")), "f: line 3: input_ids: a document length must be positive, got 0");
  EXPECT_EQ(read_all_ways(jsonl.substr(0, jsonl.rfind("{\"meta")), as(LengthFormat::kJsonl, "", "input_ids")),
            (std::vector<std::int64_t>{3, 5}));
}

TEST(DocLengths, JsonlRefusalsNameTheLineAndMember) {
  const auto plain = as(LengthFormat::kJsonl);
  const auto n = as(LengthFormat::kJsonl, "", "n");
  EXPECT_NE(error_of("5\n{\"n\": 3\n", n).find("f: line 2: column "), std::string::npos);
  EXPECT_NE(error_of("5\nnot json\n", plain).find("f: line 2: column 2: syntax error"), std::string::npos);
  EXPECT_EQ(error_of("{\"a\": 1, \"b\": 2}\n", plain),
            "f: line 1: an object: name the member holding each document's length with --field (members: \"a\", \"b\")");
  EXPECT_EQ(error_of("{\"a\": 1}\n", n), "f: line 1: no member \"n\" (members: \"a\")");
  EXPECT_EQ(error_of("{\"n\": \"12\"}\n", n),
            "f: line 1: n: expected a number of tokens (or an array of token ids), got the string \"12\"; cpsim import reads token counts, not text");
  EXPECT_EQ(error_of("{\"n\": 12.0}\n", n), "f: line 1: n: expected an integer number of tokens, got 12.0 (write it without a decimal point)");
  EXPECT_EQ(error_of("{\"n\": 1, \"n\": 2}\n", n), "f: line 1: member \"n\" appears twice in one object");
  EXPECT_EQ(error_of("{\"n\": -4}\n", n), "f: line 1: n: a document length must be positive, got -4");
  EXPECT_EQ(error_of("[1, 2]\n", plain),
            "f: line 1: an array: expected a number, or an object with --field naming the member that holds the length");
  EXPECT_EQ(error_of("18446744073709551615\n", plain).find("f: line 1: document length"), 0u);
  EXPECT_EQ(error_of("{\"n\": {\"x\": 1}}\n", n), "f: line 1: n: expected a number of tokens or an array of token ids, got an object");
  EXPECT_NE(error_of("{\"n\": " + std::string(100, '[') + std::string(100, ']') + "}\n", n).find("nested deeper than 64 levels"), std::string::npos);
  EXPECT_NE(error_of("NaN\n", plain).find("f: line 1: column"), std::string::npos);
}

TEST(DocLengths, NpyReadsEveryIntegerDtypeInEitherByteOrder) {
  const std::vector<std::int64_t> lengths = {1, 2, 127, 255, 4096, 32767, 65535};
  for (const std::string descr : {"<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8", ">i8", "<u8", ">u8"}) {
    for (const int version : {1, 2, 3}) {
      std::vector<std::int64_t> fit = lengths;
      if (descr == "<i2" || descr == ">i2") fit.pop_back();  // 65535 is not an int16
      EXPECT_EQ(read_all_ways(testing::npy_bytes(fit, descr, version), as(LengthFormat::kNpy)), fit) << descr << " v" << version;
    }
  }
  EXPECT_EQ(read_all_ways(testing::npy_bytes({1, 2, 127}, "|i1"), as(LengthFormat::kNpy)), (std::vector<std::int64_t>{1, 2, 127}));
  EXPECT_EQ(read_all_ways(testing::npy_bytes({1, 200, 255}, "|u1"), as(LengthFormat::kNpy)), (std::vector<std::int64_t>{1, 200, 255}));
  // 1-D Fortran order is the same bytes as C order.
  EXPECT_EQ(read_all_ways(testing::npy_bytes({3, 4}, "<i8", 1, "(2,)", "True"), as(LengthFormat::kNpy)), (std::vector<std::int64_t>{3, 4}));
  // Values past 2^24 in wide dtypes, and negative ones in signed dtypes, are refused by element.
  EXPECT_EQ(error_of(testing::npy_bytes({5, -3}, "<i4"), as(LengthFormat::kNpy)), "f: element 1: a document length must be positive, got -3");
  EXPECT_EQ(error_of(testing::npy_bytes({5, 0}, ">i8"), as(LengthFormat::kNpy)), "f: element 1: a document length must be positive, got 0");
  EXPECT_EQ(error_of(testing::npy_bytes({std::int64_t{1} << 40}, "<i8"), as(LengthFormat::kNpy)),
            "f: element 0: document length 1099511627776 is more than the 16777216 tokens (2^24) of the largest workload");
  EXPECT_EQ(error_of(testing::npy_bytes({-1}, "<u8"), as(LengthFormat::kNpy)),
            "f: element 0: document length 18446744073709551615 is more than the 16777216 tokens (2^24) of the largest workload");
}

TEST(DocLengths, NpyRefusesWhatIsNotAOneDimensionalIntegerArray) {
  const auto npy = as(LengthFormat::kNpy);
  EXPECT_EQ(error_of(testing::npy_bytes({1, 2}, "<f8"), npy).find("f: descr: dtype \"<f8\" is floating point: document lengths must be integers"), 0u);
  EXPECT_EQ(error_of(testing::npy_bytes({1, 2}, "|O"), npy).find("f: descr: dtype \"|O\" holds Python objects"), 0u);
  EXPECT_EQ(error_of(testing::npy_bytes({1, 2}, "|b1"), npy).find("f: descr: dtype \"|b1\" is not an integer dtype"), 0u);
  EXPECT_EQ(error_of(testing::npy_bytes({1, 2, 3, 4, 5, 6}, "<i8", 1, "(2, 3)"), npy).find("f: shape: 2-D array of shape (2, 3); give a 1-D array"), 0u);
  EXPECT_EQ(error_of(testing::npy_bytes({7}, "<i8", 1, "()"), npy).find("f: shape: 0-D array"), 0u);
  EXPECT_EQ(error_of(testing::npy_bytes({}, "<i8", 1, "(0,)"), npy), "f: shape: (0,): no documents");
  // A header lying about the data: more items than there are bytes, or fewer.
  EXPECT_EQ(error_of(testing::npy_bytes({1, 2, 3}, "<i8", 1, "(4,)"), npy),
            "f: shape: (4,) of <i8 needs 32 bytes of data after the header, the file has 24");
  EXPECT_EQ(error_of(testing::npy_bytes({1, 2, 3}, "<i8", 1, "(2,)"), npy),
            "f: shape: (2,) of <i8 needs 16 bytes of data after the header, the file has 24");
  EXPECT_NE(error_of(testing::npy_bytes({1}, "<i8", 1, "(16777217,)"), npy).find("more than 16777216 documents"), std::string::npos);
  // A header lying about its own size, or cut short.
  std::string lying = testing::npy_bytes({1, 2}, "<i8");
  lying[8] = '\xff';
  lying[9] = '\x7f';
  EXPECT_EQ(error_of(lying, npy), "f: header: says it is 32767 bytes long, but the file ends 134 bytes into it");
  const std::string whole = testing::npy_bytes({1, 2}, "<i8");
  EXPECT_EQ(error_of(whole.substr(0, 7), npy), "f: header: truncated: the file ends after 7 bytes, inside the .npy preamble");
  EXPECT_EQ(error_of(whole.substr(0, 40), npy), "f: header: says it is 118 bytes long, but the file ends 30 bytes into it");
  EXPECT_EQ(error_of("4096\n12\n", npy), "f: not a NumPy .npy file (it does not start with \"\\x93NUMPY\")");
  std::string v9 = whole;
  v9[6] = 9;
  EXPECT_EQ(error_of(v9, npy), "f: header: format version 9.0 (cpsim reads versions 1 to 3)");
  std::string broken = whole;
  broken[10] = '[';
  EXPECT_EQ(error_of(broken, npy).find("f: header: is not a Python dict"), 0u);
}

TEST(DocLengths, EveryFormatReadsTheSameLengths) {
  std::mt19937_64 rng(7);
  std::vector<std::int64_t> lengths(5000);
  for (auto& l : lengths) l = static_cast<std::int64_t>(rng() % 70000) + 1;
  std::string txt, csv = "doc,length,text\n", jsonl;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    txt += std::to_string(lengths[i]) + (i % 7 == 0 ? "  # note\n" : "\n");
    csv += std::to_string(i) + "," + std::to_string(lengths[i]) + ",\"x, \"\"y\"\"\"\n";
    jsonl += i % 2 ? R"({"num_tokens": )" + std::to_string(lengths[i]) + "}\n" : std::to_string(lengths[i]) + "\n";
  }
  EXPECT_EQ(read_all_ways(txt, as(LengthFormat::kText)), lengths);
  EXPECT_EQ(read_all_ways(csv, as(LengthFormat::kCsv, "length")), lengths);
  EXPECT_EQ(read_all_ways(jsonl, as(LengthFormat::kJsonl, "", "num_tokens")), lengths);
  EXPECT_EQ(read_all_ways(testing::npy_bytes(lengths, "<i4"), as(LengthFormat::kNpy)), lengths);
  EXPECT_EQ(read_all_ways(testing::npy_bytes(lengths, ">u8"), as(LengthFormat::kNpy)), lengths);
}

TEST(DocLengths, FormatsFromExtensionsAndNames) {
  EXPECT_EQ(length_format_of_path("a/b.txt"), LengthFormat::kText);
  EXPECT_EQ(length_format_of_path("b.CSV"), LengthFormat::kCsv);
  EXPECT_EQ(length_format_of_path("b.jsonl"), LengthFormat::kJsonl);
  EXPECT_EQ(length_format_of_path("b.npy"), LengthFormat::kNpy);
  EXPECT_EQ(length_format_of_path("b.json"), std::nullopt);
  EXPECT_EQ(length_format_of_path("dir.v2/lengths"), std::nullopt);
  for (const auto f : {LengthFormat::kText, LengthFormat::kCsv, LengthFormat::kJsonl, LengthFormat::kNpy}) {
    EXPECT_EQ(parse_length_format(length_format_name(f)), f);
  }
}

TEST(DocLengths, FilesAreStreamedWithTheChecksOfEveryInput) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cpsim_doc_lengths_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string text;
  for (int i = 1; i <= 200000; ++i) text += std::to_string(i % 5000 + 1) + "\n";  // > 64 KiB: many chunks
  std::ofstream(dir / "l.txt") << text;
  auto r = read_doc_lengths((dir / "l.txt").string(), as(LengthFormat::kText));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->size(), 200000u);
  EXPECT_EQ((*r)[199999], 200000 % 5000 + 1);
  EXPECT_NE(read_doc_lengths(dir.string(), as(LengthFormat::kText)).error().message.find("cannot open: is a directory"), std::string::npos);
  EXPECT_NE(read_doc_lengths((dir / "missing.txt").string(), as(LengthFormat::kText)).error().message.find("missing.txt: cannot open"),
            std::string::npos);
  std::ofstream(dir / "big.txt") << "1\n";
  fs::resize_file(dir / "big.txt", (std::uintmax_t{512} << 20) + 1);
  EXPECT_NE(read_doc_lengths((dir / "big.txt").string(), as(LengthFormat::kText)).error().message.find("more than the 512 MiB"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cpsim
