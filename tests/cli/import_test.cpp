// Tests of cpsim import and generate --dist mixture, through the real binary: every format and packing makes a
// workload that plan accepts (BATCHES.jsonl that batch accepts), mixtures are reproducible, and a file that is not
// a workload is met with the command that reads it.
#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"
#include "dataset/npy_bytes.h"

namespace cpsim::testing {
namespace {

using Json = nlohmann::ordered_json;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

Json read_json(const std::string& path) { return Json::parse(slurp(path)); }

// 300 documents from 1 to 700 tokens, some longer than the rows below.
std::vector<std::int64_t> some_lengths() {
  std::vector<std::int64_t> out;
  std::uint64_t x = 12345;
  for (int i = 0; i < 300; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    out.push_back(static_cast<std::int64_t>((x >> 33) % (i % 10 == 0 ? 700 : 120)) + 1);
  }
  return out;
}

class ImportTest : public CliTest {
 protected:
  // The same lengths as .txt, .csv, .jsonl (numbers, a field, token-id arrays) and .npy.
  std::vector<std::string> write_every_format(const std::vector<std::int64_t>& lengths) {
    std::string txt = "# document lengths\n", csv = "id,\"num_tokens\",text\n", numbers, fields, ids;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      const std::string n = std::to_string(lengths[i]);
      txt += n + "\n";
      csv += std::to_string(i) + "," + n + ",\"some, text\"\n";
      numbers += n + "\n";
      fields += R"({"id": )" + std::to_string(i) + R"(, "num_tokens": )" + n + "}\n";
      std::string array;
      for (std::int64_t t = 0; t < lengths[i]; ++t) array += (t ? "," : "") + std::to_string(t % 50000);
      ids += R"({"input_ids": [)" + array + "]}\n";
    }
    return {write("l.txt", txt) + " ",
            write("l.csv", csv) + " --column num_tokens",
            write("n.jsonl", numbers) + " ",
            write("f.jsonl", fields) + " --field num_tokens",
            write("i.jsonl", ids) + " --field input_ids",
            write("le.npy", npy_bytes(lengths, "<i4")) + " ",
            write("be.npy", npy_bytes(lengths, ">i8")) + " ",
            write("u16.npy", npy_bytes(lengths, "<u2")) + " "};
  }
};

TEST_F(ImportTest, EveryFormatMakesTheSameWorkloadWhichPlanAccepts) {
  const auto lengths = some_lengths();
  Json first;
  for (const std::string& input : write_every_format(lengths)) {
    const Outcome o = run("import " + input + " --seq-len 256 -o " + path("w.json"));
    ASSERT_EQ(o.status, 0) << input << "\n" << o.err;
    EXPECT_NE(o.err.find("imported 300 documents"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("next: cpsim compare " + path("w.json") + " -w 8"), std::string::npos) << o.err;
    Json w = read_json(path("w.json"));
    EXPECT_EQ(w["seq_len"], 256);
    std::int64_t total = 0;
    for (const auto& row : w["documents"]) {
      std::int64_t sum = 0;
      for (const auto& d : row) sum += d.get<std::int64_t>();
      EXPECT_EQ(sum, 256);
      total += sum;
    }
    std::int64_t tokens = 0;
    for (const auto l : lengths) tokens += l;
    EXPECT_EQ(total, (tokens + 255) / 256 * 256);  // concat: every token, and padding only in the last row
    if (first.is_null()) first = w["documents"];
    EXPECT_EQ(w["documents"], first) << input;
    const Outcome plan = run("plan " + path("w.json") + " -w 4");
    EXPECT_EQ(plan.status, 0) << plan.err;
  }
}

TEST_F(ImportTest, EveryPackingStrategyMakesAPlannableWorkload) {
  write("l.txt", [] {
    std::string t;
    for (const auto l : some_lengths()) t += std::to_string(l) + "\n";
    return t;
  }());
  for (const std::string pack : {"concat", "ffd --split-long", "best_fit --split-long", "ffd --split-long --drop-last --rows 7"}) {
    const Outcome o = run("import " + path("l.txt") + " --seq-len 512 --pack " + pack + " --mask document_full -o " + path("w.json"));
    ASSERT_EQ(o.status, 0) << pack << "\n" << o.err;
    const Json w = read_json(path("w.json"));
    EXPECT_EQ(w["mask"]["kind"], "document_full");
    EXPECT_NE(w["description"].get<std::string>().find("cpsim import " + path("l.txt") + " --format txt --seq-len 512"), std::string::npos);
    const Outcome plan = run("plan " + path("w.json") + " -w 2 -b head_tail");
    EXPECT_EQ(plan.status, 0) << pack << "\n" << plan.err;
  }
  // ffd without --split-long refuses the documents longer than a row, says what to do, and writes nothing.
  const std::string before = slurp(path("w.json"));
  expect_bad_input("import " + path("l.txt") + " --seq-len 512 --pack ffd -o " + path("w.json"), "pass --split-long");
  EXPECT_EQ(slurp(path("w.json")), before);
}

TEST_F(ImportTest, AsGivenIsOneRowAndStandardOutputWithoutOut) {
  write("l.txt", "4\n8\n4\n");
  const Outcome o = run("import " + path("l.txt"));
  ASSERT_EQ(o.status, 0) << o.err;
  const Json w = Json::parse(o.out);
  EXPECT_EQ(w["seq_len"], 16);
  EXPECT_EQ(w["documents"], Json::parse("[[4,8,4]]"));
  EXPECT_NE(o.err.find("1 row(s) x 16 tokens (as given) on standard output"), std::string::npos) << o.err;
  // --multiple-of pads each document, so per_document_head_tail can split them for 2W = 4.
  write("odd.txt", "3\n9\n5\n");
  ASSERT_EQ(run("import " + path("odd.txt") + " --multiple-of 4 -o " + path("w.json")).status, 0);
  EXPECT_EQ(read_json(path("w.json"))["documents"], Json::parse("[[4,12,8]]"));
  const Outcome plan = run("plan " + path("w.json") + " -w 2 -b per_document_head_tail");
  EXPECT_EQ(plan.status, 0) << plan.err;
}

TEST_F(ImportTest, BatchesJsonlThatBatchAccepts) {
  std::string text;
  for (const auto l : some_lengths()) text += std::to_string(l) + "\n";
  write("l.txt", text);
  const Outcome o = run("import " + path("l.txt") + " --seq-len 1024 --batch-size 3 --rows 8 -o " + path("b.jsonl"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.err.find("(3 workload(s) of up to 3 rows)"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("next: cpsim batch " + path("b.jsonl") + " -w 8 -o " + path("b") + "-plans"), std::string::npos) << o.err;
  const std::string lines = slurp(path("b.jsonl"));
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 3);
  const Outcome batch = run("batch " + path("b.jsonl") + " -w 2 -o " + path("plans") + " --no-plans");
  EXPECT_EQ(batch.status, 0) << batch.err;
}

TEST_F(ImportTest, MixtureIsDeterministicForASeedAndItsDescriptionReproducesIt) {
  const std::string mix = " --dist mixture --mix 'lognormal:mean=300,sigma=1.2:0.9;fixed:length=2048:0.1' --rows 4 --seq-len 16384";
  ASSERT_EQ(run("generate" + mix + " --seed 3 --out " + path("a.json")).status, 0);
  ASSERT_EQ(run("generate" + mix + " --seed 3 --out " + path("b.json")).status, 0);
  ASSERT_EQ(run("generate" + mix + " --seed 4 --out " + path("c.json")).status, 0);
  EXPECT_EQ(slurp(path("a.json")), slurp(path("b.json")));
  EXPECT_NE(read_json(path("a.json"))["documents"], read_json(path("c.json"))["documents"]);
  // The description is a command that makes the same file.
  const std::string description = read_json(path("a.json"))["description"];
  ASSERT_EQ(description.rfind("made by: cpsim generate ", 0), 0u) << description;
  EXPECT_NE(description.find("--dist mixture --mix 'lognormal:mean=300,sigma=1.2:0.9;fixed:length=2048:0.1'"), std::string::npos) << description;
  ASSERT_EQ(run(description.substr(15) + " --out " + path("again.json")).status, 0);
  EXPECT_EQ(read_json(path("again.json"))["documents"], read_json(path("a.json"))["documents"]);
  // About a tenth of the documents are the fixed 2048-token ones (the last of a row may be cut short).
  std::int64_t fixed = 0, all = 0;
  const Json a = read_json(path("a.json"));
  for (const auto& row : a["documents"]) {
    for (const auto& d : row) {
      fixed += d == 2048;
      ++all;
    }
  }
  EXPECT_GT(fixed, 0);
  EXPECT_LT(static_cast<double>(fixed) / static_cast<double>(all), 0.25);
  const Outcome plan = run("plan " + path("a.json") + " -w 4");
  EXPECT_EQ(plan.status, 0) << plan.err;
}

TEST_F(ImportTest, AFileThatIsNotAWorkloadIsMetWithTheCommandThatReadsIt) {
  write("l.json", "4096\n12\n");
  expect_bad_input("plan " + path("l.json") + " -w 2", "it looks like a list of document lengths, one a line: make a workload of them with cpsim import " +
                                                           path("l.json") + " --format txt --seq-len 8192 --rows 8 --out workload.json");
  write("l.csv", "id,len\n1,4096\n");
  expect_bad_input("plan " + path("l.csv") + " -w 2", "it looks like CSV: if a column holds document lengths, make a workload with cpsim import " +
                                                          path("l.csv") + " --column NAME");
  write("l.jsonl", "{\"n\": 5}\n{\"n\": 6}\n");
  expect_bad_input("plan " + path("l.jsonl") + " -w 2", "it looks like JSONL, one object a line");
  write("l.npy", npy_bytes({5, 6}, "<i8"));
  expect_bad_input("plan " + path("l.npy") + " -w 2", "a NUL byte; a JSON file is text; it is a NumPy .npy file");
  // A missing field shows a minimal workload, and that workload is valid.
  write("w.json", R"({"schema_version":1,"seq_len":16,"documents":[[16]],"model":{"q_heads":32,"kv_heads":8,"head_dim":128,"dtype":"bf16"}})");
  const Outcome o = run("plan " + path("w.json") + " -w 2");
  EXPECT_EQ(o.status, 2);
  const std::string lead = "w.json: mask: missing; a minimal workload: ";
  const auto at = o.err.find(lead);
  ASSERT_NE(at, std::string::npos) << o.err;
  write("minimal.json", o.err.substr(at + lead.size(), o.err.size() - at - lead.size() - 1));
  const Outcome minimal = run("plan " + path("minimal.json") + " -w 2");
  EXPECT_EQ(minimal.status, 0) << minimal.err;
}

}  // namespace
}  // namespace cpsim::testing
