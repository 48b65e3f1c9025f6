// Tests of cpsim sweep, compare --runtime, --export and --explain, plan and batch --runtime, through the real binary.
#include <nlohmann/json.hpp>

#include <set>

#include "cli/cli_fixture.h"

namespace cpsim::testing {
namespace {

using Json = nlohmann::json;

const std::string kShipped = std::string(CPSIM_SOURCE_DIR) + "/data/workloads/doc-lognormal-128k.json";

TEST_F(CliTest, SweepPrintsEachWorldSizeAndRecommends) {
  const Outcome o = run("sweep " + kShipped + " --world-sizes 4,8,16,7 --layers 32 --csv " + path("s.csv"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("a larger W means more nodes, InfiniBand between them"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("cannot run: "), std::string::npos);  // W = 7 does not divide 131,072
  EXPECT_NE(o.out.find("nearest that work: 4 and 8"), std::string::npos);
  EXPECT_NE(o.out.find("smallest W that fits in 80 GB per GPU: 8"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("most tokens/s per GPU PyTorch can run, of the W that fit: W = "), std::string::npos);
  std::ifstream csv(path("s.csv"));
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "world_size,nodes,pick,strategy,runtime,step_us,tokens_per_s_per_gpu,scaling_efficiency,max_exposed_comm_us,memory_bytes,fits,error");
  const Outcome j = run("sweep " + kShipped + " --world-sizes 8,16 --json");
  ASSERT_EQ(j.status, 0) << j.err;
  const Json doc = Json::parse(j.out);
  ASSERT_EQ(doc["rows"].size(), 2u);
  EXPECT_EQ(doc["rows"][1]["nodes"], 2);
  EXPECT_EQ(doc["rows"][0]["pytorch"]["runtime"], "pytorch");
  EXPECT_GT(doc["rows"][0]["best"]["tokens_per_s_per_gpu"].get<double>(), 0);
}

TEST_F(CliTest, CompareRuntimeFilterAndSummary) {
  const Outcome all = run("compare " + kShipped + " -w 8 --json");
  ASSERT_EQ(all.status, 0) << all.err;
  const Json a = Json::parse(all.out);
  std::set<std::string> runtimes;
  for (const Json& c : a["ranked"]) runtimes.insert(c["runtime"].get<std::string>());
  EXPECT_EQ(runtimes, (std::set<std::string>{"pytorch", "cpsim", "simulated"}));
  ASSERT_TRUE(a["best_pytorch"].is_object());
  const Outcome torch = run("compare " + kShipped + " -w 8 --runtime pytorch --json");
  ASSERT_EQ(torch.status, 0) << torch.err;
  const Json t = Json::parse(torch.out);
  for (const Json& c : t["ranked"]) EXPECT_EQ(c["runtime"], "pytorch") << c["strategy"];
  EXPECT_EQ(t["ranked"][0]["strategy"], a["best_pytorch"]["strategy"]);
  EXPECT_GT(t["left_out_by_runtime"].get<int>(), 0);
  const Outcome text = run("compare " + kShipped + " -w 8 --top 3");
  ASSERT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("runs on"), std::string::npos);
  EXPECT_NE(text.out.find("best PyTorch can run: "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("PyTorch as shipped (its own balancers): "), std::string::npos);
  expect_bad_input("compare " + kShipped + " -w 8 --runtime torch", "--runtime: \"torch\" is not one of pytorch, cpsim, any");
}

TEST_F(CliTest, CompareExportWritesPlansThatExecute) {
  const std::string dir = path("plans");
  const Outcome one = run("compare " + kShipped + " -w 8 --runtime pytorch --export " + dir);
  ASSERT_EQ(one.status, 0) << one.err;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().filename().string());
  ASSERT_EQ(files.size(), 1u);  // the winner only, by default
  EXPECT_EQ(files[0].rfind("01-", 0), 0u);
  const Outcome three = run("compare " + kShipped + " -w 8 --export " + path("top3") + " --top 3 --json");
  ASSERT_EQ(three.status, 0) << three.err;
  const Json doc = Json::parse(three.out);
  ASSERT_EQ(doc["exported"].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    std::ifstream in(doc["exported"][i].get<std::string>());
    const Json plan = Json::parse(in);
    EXPECT_EQ(plan["strategy"]["text"], doc["ranked"][i]["strategy"]) << i;
    EXPECT_NEAR(plan["predicted"]["step_us"].get<double>(), doc["ranked"][i]["step_us"].get<double>(), 1e-6 * plan["predicted"]["step_us"].get<double>());
  }
  // An exported plan of a small workload runs and verifies on the CPU.
  const std::string small = write("w.json", R"({"schema_version":1,"seq_len":2048,"mask":{"kind":"document_causal"},"documents":[[512,1024,512]],)"
                                            R"("model":{"q_heads":4,"kv_heads":2,"head_dim":32,"dtype":"bf16"}})");
  const Outcome e = run("compare " + small + " -w 2 --runtime pytorch --export " + path("small"));
  ASSERT_EQ(e.status, 0) << e.err;
  const std::string plan = fs::directory_iterator(path("small"))->path().string();
  const Outcome ex = run("execute " + plan);
  EXPECT_EQ(ex.status, 0) << ex.err << ex.out;
  EXPECT_NE(ex.out.find("PASSED"), std::string::npos);
  expect_bad_input("compare " + kShipped + " -w 8 --export " + kShipped, "--export: ");
}

TEST_F(CliTest, ExplainBreaksTheStepDown) {
  const Outcome c = run("compare " + kShipped + " -w 8 --top 2 --explain 2");
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_NE(c.out.find("#2 "), std::string::npos);
  for (const char* part : {"lower bound", "kernel efficiency", "partial tiles", "CTA cost", "longest CTA", "launches", "merges", "imbalance",
                           "exposed communication"}) {
    EXPECT_NE(c.out.find(part), std::string::npos) << part;
  }
  const Outcome s = run("simulate " + kShipped + " -w 8 -b ptrr -r alltoall --json");
  ASSERT_EQ(s.status, 0) << s.err;
  const Json doc = Json::parse(s.out);
  double sum = 0;
  for (const Json& p : doc["explain"]["parts"]) sum += p["us"].get<double>();
  EXPECT_NEAR(sum, doc["step_us"].get<double>(), 1e-6 * sum);
  EXPECT_EQ(doc["runtime"], "simulated");
  expect_bad_input("compare " + kShipped + " -w 8 --explain 100000", "--explain: row 100000 does not exist");
}

TEST_F(CliTest, PlanAndBatchChooseWhatTheRuntimeRuns) {
  const Outcome p = run("plan " + kShipped + " -w 8 -b cost_aware --runtime pytorch -o " + path("p.json"));
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_NE(p.out.find("runs on: pytorch (PyTorch CP on FlexAttention, the plan's indices through cpsim.torch.load_balancer)"),
            std::string::npos) << p.out;
  const std::string lines = path("b.jsonl");
  ASSERT_EQ(run("generate --seq-len 16384 --dist lognormal --mean 1024 --sigma 1 --multiple-of 16 --seed 3 --batches 4 --out " + lines).status, 0);
  const Outcome b = run("batch " + lines + " -w 8 --runtime pytorch -o " + path("out"));
  ASSERT_EQ(b.status, 0) << b.err;
  std::ifstream csv(path("out/summary.csv"));
  std::string line;
  std::getline(csv, line);
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    EXPECT_NE(line.find(",pytorch,"), std::string::npos) << line;
  }
  EXPECT_EQ(rows, 4);
}

}  // namespace
}  // namespace cpsim::testing
