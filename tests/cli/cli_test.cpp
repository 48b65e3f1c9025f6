// The cpsim binary end to end: output, PLAN.json contents, and the exit status and one-line message
// of every kind of bad input (nothing half-written).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"

namespace {

namespace fs = std::filesystem;
using cpsim::testing::CliTest;
using cpsim::testing::Outcome;

const char* const kWorkload =
    R"({"schema_version":1,"seq_len":16,"mask":{"kind":"document_causal"},"documents":[[4,8,4]],)"
    R"("model":{"q_heads":32,"kv_heads":8,"head_dim":128,"dtype":"bf16"}})";

TEST_F(CliTest, PlanPrintsPerRankTableAndWritesPlan) {
  const std::string w = write("w.json", kWorkload);
  const Outcome o = run("plan " + w + " --world-size 2 --balancer per_document_head_tail --block-size 4 --out " + path("plan.json"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("balancer per_document_head_tail, world size 2"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("imbalance (max/mean): pairs 1.000"), std::string::npos) << o.out;
  std::ifstream in(path("plan.json"));
  const auto plan = nlohmann::json::parse(in);
  EXPECT_EQ(plan["schema_version"], 1);
  EXPECT_EQ(plan["rearrange_indices"], nlohmann::json::parse("[[0,3,4,5,10,11,12,15,1,2,6,7,8,9,13,14]]"));
  EXPECT_EQ(plan["restore_indices"], nlohmann::json::parse("[[0,8,9,1,2,3,10,11,12,13,4,5,6,14,15,7]]"));
  EXPECT_EQ(plan["work"]["per_rank"][0]["pairs"], 28);
  EXPECT_EQ(plan["work"]["per_rank_step"]["pairs"], nlohmann::json::parse("[[16,12],[16,12]]"));
  EXPECT_EQ(plan["workload"]["documents"], nlohmann::json::parse("[[4,8,4]]"));
}

TEST_F(CliTest, PlanAllComparesEveryBalancerAndExplainsTheOnesThatDoNotApply) {
  const std::string w = write("w.json", kWorkload);
  const Outcome o = run("plan " + w + " --world-size 4 --block-size 2");
  ASSERT_EQ(o.status, 0) << o.err;
  for (const char* name : {"contiguous", "head_tail", "per_document_head_tail", "ptrr"}) {
    EXPECT_NE(o.out.find(name), std::string::npos) << name;
  }
  EXPECT_NE(o.out.find("not applicable: " + w + ": documents[0][0]: length 4 is not a multiple of 2*W = 8"), std::string::npos)
      << o.out;
  const Outcome j = run("plan " + w + " --world-size 2 --block-size 2 --json");
  ASSERT_EQ(j.status, 0) << j.err;
  const auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["balancers"].size(), balancer_count());
}

TEST_F(CliTest, BalancersListsOneLineEach) {
  const Outcome o = run("balancers");
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(o.out.rfind("contiguous ", 0), 0u);
  for (const char* name : {"head_tail ", "per_document_head_tail ", "ptrr ", "striped_block "}) {
    EXPECT_NE(o.out.find(std::string("\n") + name), std::string::npos) << name;
  }
}

TEST_F(CliTest, GenerateWritesALoadableWorkload) {
  const Outcome g = run("generate --seq-len 8192 --dist pareto --alpha 1.3 --min-len 64 --multiple-of 16 --seed 3 --out " +
                        path("gen.json"));
  ASSERT_EQ(g.status, 0) << g.err;
  const Outcome p = run("plan " + path("gen.json") + " --world-size 8 --balancer per_document_head_tail");
  EXPECT_EQ(p.status, 0) << p.err;
}

TEST_F(CliTest, ShippedWorkloadsLoadAndPlan) {
  for (const auto& entry : fs::directory_iterator(fs::path(CPSIM_SOURCE_DIR) / "data" / "workloads")) {
    if (entry.path().extension() != ".json") continue;
    const Outcome o = run("plan " + entry.path().string() + " --world-size 8 --balancer head_tail");
    EXPECT_EQ(o.status, 0) << entry.path() << "\n" << o.err;
  }
}

TEST_F(CliTest, ShippedWorkloadsAreReproducedByTheirDescription) {
  for (const auto& entry : fs::directory_iterator(fs::path(CPSIM_SOURCE_DIR) / "data" / "workloads")) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const auto shipped = nlohmann::json::parse(in);
    const std::string description = shipped["description"];
    const std::string prefix = "made by: cpsim ";
    ASSERT_EQ(description.rfind(prefix, 0), 0u) << entry.path();
    const Outcome o = run(description.substr(prefix.size()) + " --out " + path("again.json"));
    ASSERT_EQ(o.status, 0) << o.err;
    std::ifstream again_in(path("again.json"));
    EXPECT_EQ(nlohmann::json::parse(again_in), shipped) << entry.path();
  }
}

TEST_F(CliTest, BadWorkloadFiles) {
  expect_bad_input("plan " + write("trunc.json", R"({"schema_version":1,"seq_len":)") + " -w 2",
                   "trunc.json: line 1, column 31: syntax error");
  expect_bad_input("plan " + write("empty.json", "") + " -w 2", "empty.json: ");
  expect_bad_input("plan " + write("type.json", std::string(kWorkload).replace(std::string(kWorkload).find(":16,"), 4, ":\"x\",")) + " -w 2",
                   "type.json: seq_len: expected an integer, got \"x\"");
  expect_bad_input("plan " + write("missing.json", R"({"schema_version":1,"seq_len":16})") + " -w 2",
                   "missing.json: mask: missing");
  expect_bad_input("plan " + write("neg.json", std::string(kWorkload).replace(std::string(kWorkload).find("[[4,8,4]]"), 9, "[[4,-8,20]]")) + " -w 2",
                   "neg.json: documents[0][1]: document length must be positive, got -8");
  expect_bad_input("plan " + write("sum.json", std::string(kWorkload).replace(std::string(kWorkload).find("[[4,8,4]]"), 9, "[[4,8,2]]")) + " -w 2",
                   "sum.json: documents[0]: document lengths sum to 14, not seq_len 16");
  expect_bad_input("plan " + write("kind.json", std::string(kWorkload).replace(std::string(kWorkload).find("document_causal"), 15, "chunked")) + " -w 2",
                   "kind.json: mask.kind: unknown mask kind \"chunked\"");
  // 9 rows of 2^21 tokens: more than the 2^24 tokens a workload may have.
  std::string big = R"({"schema_version":1,"seq_len":2097152,"mask":{"kind":"causal"},"documents":[)";
  for (int i = 0; i < 9; ++i) big += std::string(i ? "," : "") + "[2097152]";
  big += R"(],"model":{"q_heads":32,"kv_heads":8,"head_dim":128,"dtype":"bf16"}})";
  expect_bad_input("plan " + write("big.json", big) + " -w 2", "big.json: documents: 9 rows of seq_len 2097152 are more than the 16777216 tokens");
  expect_bad_input("plan " + path("nope.json") + " -w 2", "nope.json: cannot open: No such file or directory");
}

TEST_F(CliTest, BadFlags) {
  const std::string w = write("w.json", kWorkload);
  expect_bad_input("plan " + w + " -w 0 -b head_tail", "--world-size: must be a positive number of ranks, got 0");
  expect_bad_input("plan " + w + " -w -4", "--world-size: must be a positive number of ranks, got -4");
  expect_bad_input("plan " + w + " -w 2 -b zigzag", "--balancer: unknown balancer \"zigzag\" (expected one of: contiguous, head_tail");
  expect_bad_input("plan " + w + " -w 3 -b contiguous", "w.json: seq_len: 16 is not divisible by world size 3");
  expect_bad_input("plan " + w + " -w 2 -b ptrr", "w.json: seq_len: 16 is not a multiple of block size 128");
  expect_bad_input("plan " + w + " -w 4 -b per_document_head_tail", "w.json: documents[0][0]: length 4 is not a multiple of 2*W = 8");
  expect_bad_input("plan " + w + " -w 2 -o " + path("p.json"), "--out: exporting a plan needs one --balancer");
  expect_bad_input("plan " + w + " -w two", "command line: --world-size: two is not an integer in plain decimal");
  expect_bad_input("plan " + w, "command line: --world-size is required");
  expect_bad_input("frobnicate", "command line:");
  expect_bad_input("generate --seq-len 100 --dist zipf", "--dist: unknown distribution \"zipf\"");
  expect_bad_input("generate --seq-len 100 --mean 10 --mask nope", "--mask: unknown mask kind \"nope\"");
}

TEST_F(CliTest, SimulateWritesAPerfettoTrace) {
  const std::string w = std::string(CPSIM_SOURCE_DIR) + "/data/workloads/causal-8k.json";
  const Outcome o = run("simulate " + w + " -w 8 -b head_tail -r alltoall --backward --trace " + path("trace.json"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("head_tail, world size 8, sdpa_ring/alltoall on fa2; h100-sxm-8x"), std::string::npos) << o.out;
  std::ifstream in(path("trace.json"));
  const auto trace = nlohmann::json::parse(in);
  std::set<int> pids;
  std::set<std::pair<int, int>> tracks;
  int complete = 0;
  for (const auto& e : trace["traceEvents"]) {
    pids.insert(e["pid"].get<int>());
    if (e["ph"] == "X") {
      ++complete;
      tracks.insert({e["pid"].get<int>(), e["tid"].get<int>()});
      EXPECT_GE(e["dur"].get<double>(), 0.0);
    }
  }
  EXPECT_EQ(pids.size(), 8u);
  EXPECT_EQ(tracks.size(), 16u);  // compute and communication for every rank
  EXPECT_GT(complete, 8 * 8);
  const Outcome j = run("simulate " + w + " -w 8 -b head_tail -r allgather --json");
  ASSERT_EQ(j.status, 0) << j.err;
  EXPECT_EQ(nlohmann::json::parse(j.out)["path"], "sdpa_ring");
}

TEST_F(CliTest, CompareRanksAndExportsCsv) {
  const std::string w = std::string(CPSIM_SOURCE_DIR) + "/data/workloads/doc-lognormal-128k.json";
  const Outcome o = run("compare " + w + " -w 8 --csv " + path("c.csv"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("cannot run:"), std::string::npos);
  EXPECT_NE(o.out.find("winner: "), std::string::npos);
  std::ifstream in(path("c.csv"));
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header.rfind("rank,balancer,path,rotate,ulysses,kernel,valid,step_us", 0), 0u);
  EXPECT_EQ(first.rfind("1,", 0), 0u);
  const Outcome j = run("compare " + w + " -w 8 --backward --json");
  ASSERT_EQ(j.status, 0) << j.err;
  const auto parsed = nlohmann::json::parse(j.out);
  // 11 (strategy, kernel) pairs each (the SDPA ring's 2 x 3 kernels, FlexAttention CP on flex, the block-sparse paths
  // on flex and cpsim), plain and as the ring of a Ulysses-4 hybrid, and pure Ulysses-8 on flex and cpsim.
  EXPECT_EQ(parsed["ranked"].size() + parsed["invalid"].size(), 2 * 11 * balancer_count() + 2);
  for (const auto& row : parsed["ranked"]) EXPECT_EQ(row["strategy"].get<std::string>().find(" on " + row["kernel"].get<std::string>()) != std::string::npos, true);
  EXPECT_TRUE(parsed["model_error"].contains("median"));
  // --kernel keeps the strategies on one kernel; a kernel the profile lacks is refused.
  const Outcome k = run("compare " + std::string(CPSIM_SOURCE_DIR) + "/data/workloads/causal-8k.json -w 8 --kernel fa3 --json");
  ASSERT_EQ(k.status, 0) << k.err;
  const auto only = nlohmann::json::parse(k.out);
  ASSERT_FALSE(only["ranked"].empty());
  for (const auto& row : only["ranked"]) EXPECT_EQ(row["kernel"], "fa3");
  expect_bad_input("compare " + w + " -w 8 --kernel fa9", "--kernel: \"fa9\" is not a kernel of h100-sxm-8x (it has fa2, cudnn, fa3, flex, cpsim");
}

TEST_F(CliTest, SimulatorBadInputs) {
  const std::string w = std::string(CPSIM_SOURCE_DIR) + "/data/workloads/doc-lognormal-128k.json";
  expect_bad_input("simulate " + w + " -w 8 -b ptrr -r alltoall --hardware tpu-v5", "--hardware: unknown profile \"tpu-v5\"");
  expect_bad_input("simulate " + w + " -w 8 -b ptrr -r ring", "--rotate: unknown rotate method \"ring\"");
  expect_bad_input("simulate " + w + " -w 8 -b ptrr -r alltoall -p magi", "--path: unknown attention path \"magi\"");
  expect_bad_input("simulate " + w + " -w 8 -b head_tail -r alltoall -p sdpa_ring",
                   "sdpa_ring/alltoall cannot run this plan: SDPA CP takes only is_causal True/False");
  expect_bad_input("simulate " + w + " -w 8 -b ptrr -r alltoall -p flex_allgather", "FlexAttention CP only all-gathers K/V");
  // W = 16 on the one-node profile is two nodes of it (said in the header); a capped cluster refuses more than it has.
  const Outcome two_nodes = run("simulate " + w + " -w 16 -b ptrr -r allgather");
  EXPECT_EQ(two_nodes.status, 0) << two_nodes.err;
  EXPECT_NE(two_nodes.out.find("h100-sxm-8x (2 nodes x 8 H100 SXM5 80GB, NVLink inside a node, InfiniBand between)"), std::string::npos) << two_nodes.out;
  expect_bad_input("compare " + w + " -w 128 --hardware h100-sxm-ib", "--world-size: 128 ranks need more GPUs than profile h100-sxm-ib has (8 node(s) x 8 = 64: node.max_nodes x node.gpus_per_node in ");
  expect_bad_input("compare " + w + " -w 0", "--world-size: must be a positive number of ranks, got 0");
  // A profile with a negative field, and one with a number that has no source.
  std::ifstream in(std::string(CPSIM_SOURCE_DIR) + "/data/hardware/h100-sxm-8x.json");
  auto profile = nlohmann::json::parse(in);
  auto negative = profile;
  negative["links"]["nvlink"]["p2p"]["busbw_gb_s"]["value"] = -250;
  expect_bad_input("compare " + w + " -w 8 --hardware " + write("neg.json", negative.dump()),
                   "neg.json: links.nvlink.p2p.busbw_gb_s.value: must be a number above 0.001, got -250");
  auto unsourced = profile;
  unsourced["kernels"]["fa2"]["forward"]["launch_us"].erase("source");
  expect_bad_input("compare " + w + " -w 8 --hardware " + write("nosrc.json", unsourced.dump()),
                   "nosrc.json: kernels.fa2.forward.launch_us.source: missing");
  expect_bad_input("simulate " + w + " -w 8 -b ptrr -r allgather --trace " + path("missing/t.json"), "missing/t.json: cannot write");
}

TEST_F(CliTest, ExecuteVerifiesAndWritesAMeasurement) {
  const std::string w = write("w.json", kWorkload);
  ASSERT_EQ(run("plan " + w + " -w 2 -b per_document_head_tail --block-size 4 -r alltoall -o " + path("p.json")).status, 0);
  const Outcome o = run("execute " + path("p.json") + " --q-heads 2 --kv-heads 1 --head-dim 8 -o " + path("m.json"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("PASSED"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("predicted compute ms"), std::string::npos) << o.out;
  std::ifstream in(path("m.json"));
  const auto m = nlohmann::json::parse(in);
  EXPECT_EQ(m["verified"], true);
  EXPECT_EQ(m["steps"].size(), 4u);
  EXPECT_LE(m["max_abs_error"].get<double>(), 1e-5);
  // A corrupted output must fail the check: exit 3, and the measurement is still written.
  const Outcome bad = run("execute " + path("p.json") + " --head-dim 8 --q-heads 2 --kv-heads 1 -o " + path("m2.json"),
                          "CPSIM_FAULTS=corrupt-output");
  EXPECT_EQ(bad.status, 3) << bad.err;
  EXPECT_NE(bad.err.find("verification failed"), std::string::npos) << bad.err;
  EXPECT_TRUE(fs::exists(path("m2.json")));
  // A rank that fails ends the run with an error naming it (exit 4).
  const Outcome failed = run("execute " + path("p.json") + " --head-dim 8 --q-heads 2 --kv-heads 1",
                             "CPSIM_FAULTS=fail-rank=1");
  EXPECT_EQ(failed.status, 4) << failed.err;
  EXPECT_NE(failed.err.find("rank 1 failed"), std::string::npos) << failed.err;
}

TEST_F(CliTest, ExecuteBackwardChecksTheGradients) {
  const std::string w = write("w.json", kWorkload);
  ASSERT_EQ(run("plan " + w + " -w 2 -b head_tail --block-size 4 -r alltoall -o " + path("p.json")).status, 0);
  const std::string cmd = "execute " + path("p.json") + " --q-heads 2 --kv-heads 1 --head-dim 8 --backward -o ";
  const Outcome o = run(cmd + path("m.json"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("backward (dQ, dK, dV): max abs error"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("the plan has no backward prediction: make it with `cpsim plan --backward`"), std::string::npos) << o.out;
  std::ifstream in(path("m.json"));
  const auto m = nlohmann::json::parse(in);
  EXPECT_EQ(m["backward"]["verified"], true);
  EXPECT_EQ(m["backward"]["steps"].size(), 4u);
  EXPECT_LE(m["backward"]["max_abs_error"].get<double>(), m["backward"]["tolerance"].get<double>());
  // A wrong gradient fails the run (exit 3) although the forward output is right.
  const Outcome bad = run(cmd + path("m2.json"), "CPSIM_FAULTS=corrupt-gradient");
  EXPECT_EQ(bad.status, 3) << bad.err;
  EXPECT_NE(bad.err.find("backward verification failed"), std::string::npos) << bad.err;
}

TEST_F(CliTest, ExecuteBackwardPrintsThePredictedBackwardBesideTheMeasured) {
  const std::string w = write("w.json", kWorkload);
  expect_bad_input("plan " + w + " -w 2 -b head_tail --backward", "--backward: applies to the recorded prediction");
  const Outcome planned = run("plan " + w + " -w 2 -b head_tail --block-size 4 -r alltoall --backward -o " + path("p.json"));
  ASSERT_EQ(planned.status, 0) << planned.err;
  EXPECT_NE(planned.out.find("ms forward + backward on"), std::string::npos) << planned.out;
  const Outcome o = run("execute " + path("p.json") + " --q-heads 2 --kv-heads 1 --head-dim 8 --backward -o " + path("m.json"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out.find("the plan has no backward prediction"), std::string::npos) << o.out;
  std::ifstream in(path("m.json"));
  const auto m = nlohmann::json::parse(in);
  const auto& predicted = m["predicted"];
  ASSERT_TRUE(predicted.contains("backward_compute_us")) << predicted.dump();
  ASSERT_EQ(predicted["backward_compute_us"].size(), 2u);
  // Each rank's predicted backward compute (summed over its steps) is the number in the backward table's row.
  const std::string table = o.out.substr(o.out.find("\nbackward\n"));
  for (std::size_t r = 0; r < 2; ++r) {
    double sum = 0;
    for (const auto& v : predicted["backward_compute_us"][r]) sum += v.get<double>();
    EXPECT_GT(sum, 0);
    char cell[32];
    std::snprintf(cell, sizeof cell, "%.3f", sum / 1000.0);
    EXPECT_NE(table.find(cell), std::string::npos) << cell << " not in\n" << table;
  }
  EXPECT_GT(predicted["backward_us"].get<double>(), 0);
  EXPECT_NEAR(predicted["step_us"].get<double>(), predicted["forward_us"].get<double>() + predicted["backward_us"].get<double>(), 1e-6);
}

TEST_F(CliTest, ExecuteBadInputs) {
  const std::string w = write("w.json", kWorkload);
  ASSERT_EQ(run("plan " + w + " -w 2 -b head_tail --block-size 4 -r alltoall -o " + path("p.json")).status, 0);
  std::ifstream in(path("p.json"));
  const auto plan = nlohmann::json::parse(in);
  auto edited = plan;
  edited["workload"]["documents"] = nlohmann::json::parse("[[8,8]]");
  expect_bad_input("execute " + write("edited.json", edited.dump()), "edited.json: workload_digest: ");
  auto duplicate = plan;
  duplicate["rearrange_indices"][0][3] = 0;
  expect_bad_input("execute " + write("dup.json", duplicate.dump()), "dup.json: rearrange_indices[0][3]: index 0 appears twice");
  auto restore = plan;
  std::swap(restore["restore_indices"][0][0], restore["restore_indices"][0][1]);
  expect_bad_input("execute " + write("restore.json", restore.dump()), "restore.json: restore_indices[0][0]: ");
  auto short_row = plan;
  short_row["rearrange_indices"][0].erase(0);
  expect_bad_input("execute " + write("short.json", short_row.dump()), "short.json: rearrange_indices[0]: has 15 indices but seq_len is 16");
  auto no_rotate = plan;  // a plan with no strategy recorded
  for (const char* key : {"strategy", "attention_path", "rotate", "hardware", "predicted"}) no_rotate.erase(key);
  expect_bad_input("execute " + write("norot.json", no_rotate.dump()), "--rotate: the plan records no rotate method");
  expect_bad_input("execute " + path("p.json") + " --device cuda", "--device cuda: ");
  expect_bad_input("execute " + path("p.json") + " --device tpu", "--device: unknown device \"tpu\"");
  expect_bad_input("execute " + path("p.json") + " --q-heads 3 --kv-heads 2", "--kv-heads: 2 must be positive and divide q heads 3");
  expect_bad_input("execute " + path("nothing.json"), "nothing.json: cannot open");
}

TEST_F(CliTest, UnwritableOutputLeavesNothingBehind) {
  const std::string w = write("w.json", kWorkload);
  expect_bad_input("plan " + w + " -w 2 -b head_tail -o " + path("no_such_dir/p.json"), "no_such_dir/p.json: cannot write");
  EXPECT_FALSE(fs::exists(path("no_such_dir")));
  // A failed plan does not touch an existing output file.
  write("keep.json", "old");
  expect_bad_input("plan " + w + " -w 3 -b head_tail -o " + path("keep.json"), "not divisible");
  std::stringstream kept;
  kept << std::ifstream(path("keep.json")).rdbuf();
  EXPECT_EQ(kept.str(), "old");
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

std::string read_text(const std::string& file) {
  std::stringstream text;
  text << std::ifstream(file, std::ios::binary).rdbuf();
  return text.str();
}

TEST_F(CliTest, BatchPlansEveryLineResumesAndIsTheSameForAnyJobCount) {
  const std::string batches = path("b.jsonl");
  const Outcome g = run("generate --seq-len 4096 --dist lognormal --mean 512 --min-len 32 --multiple-of 16 --seed 3 --batches 6 --out " + batches);
  ASSERT_EQ(g.status, 0) << g.err;
  const Outcome o = run("batch " + batches + " -w 4 -j 2 -o " + path("out2"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("planned 6 lines (0 resumed"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("chosen plans: mean"), std::string::npos) << o.out;
  std::ifstream summary(path("out2/summary.csv"));
  std::string header, row;
  std::getline(summary, header);
  EXPECT_EQ(header.rfind("line,seq_len,rows,documents,balancer,strategy,runtime,step_us", 0), 0u);
  int rows = 0;
  while (std::getline(summary, row)) ++rows;
  EXPECT_EQ(rows, 6);
  const auto report = nlohmann::json::parse(read_text(path("out2/report.json")));
  EXPECT_EQ(report["batches"], 6);
  // Every chosen plan is a PLAN.json with its strategy and prediction.
  const auto plan = nlohmann::json::parse(read_text(path("out2/plans/line-000004.json")));
  EXPECT_EQ(plan["workload_source"], batches + ":4");
  EXPECT_TRUE(plan.contains("rearrange_indices") && plan.contains("predicted") && plan.contains("rotate"));
  // A Ulysses hybrid plan is simulated only: the executors refuse it with a clear message.
  ASSERT_EQ(run("plan " + std::string(CPSIM_SOURCE_DIR) + "/data/workloads/causal-8k.json -w 8 -s \"ptrr + ulysses4 x sparse_ring/alltoall\" -o " +
                path("hybrid.json")).status, 0);
  expect_bad_input("execute " + path("hybrid.json") + " --device cpu", "ptrr + ulysses4 x sparse_ring/alltoall on flex (Ulysses) is simulated only");
  // A second run finds everything done; after losing one result it plans only that line.
  EXPECT_NE(run("batch " + batches + " -w 4 -j 2 -o " + path("out2")).out.find("planned 0 lines (6 resumed"), std::string::npos);
  fs::remove(path("out2/results/line-000003.json"));
  EXPECT_NE(run("batch " + batches + " -w 4 -j 2 -o " + path("out2")).out.find("planned 1 lines (5 resumed"), std::string::npos);
  // One job gives byte-identical files.
  ASSERT_EQ(run("batch " + batches + " -w 4 -j 1 -o " + path("out1")).status, 0);
  for (const char* f : {"summary.csv", "report.json", "results/line-000002.json", "plans/line-000005.json"}) {
    EXPECT_EQ(read_text(path(std::string("out1/") + f)), read_text(path(std::string("out2/") + f))) << f;
  }
}

// What a killed or edited earlier run leaves is not trusted: a truncated plan file or an unreadable result is
// planned again, a stale temporary is removed, and an edited reason cannot split a summary row.
TEST_F(CliTest, BatchResumeTrustsOnlyWholeFiles) {
  const std::string batches = path("b.jsonl");
  ASSERT_EQ(run("generate --seq-len 4096 --dist lognormal --mean 512 --min-len 32 --multiple-of 16 --seed 3 --batches 4 --out " + batches).status, 0);
  ASSERT_EQ(run("batch " + batches + " -w 4 -j 1 --no-ulysses -o " + path("out")).status, 0);
  const std::string plan2 = read_text(path("out/plans/line-000002.json"));
  std::ofstream(path("out/plans/line-000002.json")) << plan2.substr(0, plan2.size() / 2);  // a killed write
  std::ofstream(path("out/results/line-000003.json")) << "";                              // an empty result
  std::ofstream(path("out/results/.cpsim-999999999-0.tmp")) << "half";                    // a killed run's temporary
  const Outcome again = run("batch " + batches + " -w 4 -j 1 --no-ulysses -o " + path("out"));
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("planned 2 lines (2 resumed"), std::string::npos) << again.out;
  EXPECT_EQ(read_text(path("out/plans/line-000002.json")), plan2);
  EXPECT_FALSE(fs::exists(path("out/results/.cpsim-999999999-0.tmp")));
  // An edited result with a newline in its reason: the summary keeps one line per batch.
  auto result = nlohmann::json::parse(read_text(path("out/results/line-000001.json")));
  result["chosen"]["valid"] = false;
  result["chosen"]["reason"] = "two\nlines";
  std::ofstream(path("out/results/line-000001.json")) << result.dump();
  ASSERT_EQ(run("batch " + batches + " -w 4 -j 1 --no-ulysses -o " + path("out")).status, 0);
  const std::string summary = read_text(path("out/summary.csv"));
  EXPECT_EQ(std::count(summary.begin(), summary.end(), '\n'), 5) << summary;
  EXPECT_NE(summary.find("two\\nlines"), std::string::npos) << summary;
}

// Calibrating W = 1 runs (no communication at all) fits the kernel and keeps the link, saying so; it crashed.
TEST_F(CliTest, CalibrateWorksOnSingleRankRuns) {
  std::string files;
  for (const int s : {256, 512, 1024, 2048}) {
    const std::string w = path("w" + std::to_string(s) + ".json"), p = path("p" + std::to_string(s) + ".json"), m = path("m" + std::to_string(s) + ".json");
    ASSERT_EQ(run("generate --seq-len " + std::to_string(s) + " --dist uniform --min-len 16 --max-len " + std::to_string(s / 2) + " --seed " +
                  std::to_string(s) + " --q-heads 2 --kv-heads 1 --head-dim 16 --out " + w).status, 0);
    ASSERT_EQ(run("plan " + w + " -w 1 -b contiguous -r alltoall --hardware cpu-threads --block-size 32 -o " + p).status, 0);
    ASSERT_EQ(run("execute " + p + " -o " + m).status, 0);
    files += " " + m;
  }
  const Outcome c = run("calibrate" + files + " --hardware cpu-threads -o " + path("fit.json"));
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_NE(c.out.find("no communication was measured (W = 1 runs move no K/V); link curves kept"), std::string::npos) << c.out;
  const auto fitted = nlohmann::json::parse(read_text(path("fit.json")));
  EXPECT_EQ(fitted["device_kind"], "cpu");
}

// The atomic writer's temporary name does not grow with the file's: a 255-byte name works.
TEST_F(CliTest, TheLongestFileNameIsWritten) {
  const std::string w = write("w.json", kWorkload);
  const std::string name = std::string(250, 'p') + ".json";
  const Outcome o = run("plan " + w + " -w 2 -b head_tail -r alltoall -o " + path(name));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(fs::exists(path(name)));
}

TEST_F(CliTest, BatchBadInputs) {
  const std::string model = R"("model":{"q_heads":32,"kv_heads":8,"head_dim":128,"dtype":"bf16"})";
  const std::string good = R"({"schema_version":1,"seq_len":1024,"mask":{"kind":"causal"},"documents":[[1024]],)" + model + "}";
  const std::string bad_line = write("bad.jsonl", good + "\n\n" + R"({"schema_version":1,"seq_len":-5,"mask":{"kind":"causal"},"documents":[[1024]],)" + model + "}\n");
  expect_bad_input("batch " + bad_line + " -w 2 -o " + path("never"), "bad.jsonl:3: seq_len");
  EXPECT_FALSE(fs::exists(path("never")));
  expect_bad_input("batch " + write("trunc.jsonl", good.substr(0, 30) + "\n") + " -w 2 -o " + path("never"), "trunc.jsonl:1: ");
  expect_bad_input("batch " + write("empty.jsonl", "\n \n") + " -w 2 -o " + path("never"), "empty.jsonl: no workloads");
  expect_bad_input("batch " + path("missing.jsonl") + " -w 2 -o " + path("never"), "missing.jsonl: cannot open");
  const std::string one = write("one.jsonl", good + "\n");
  expect_bad_input("batch " + one + " -w 2 -o " + path("never") + " --balancers ptrr,nope", "--balancers: unknown balancer \"nope\"");
  expect_bad_input("batch " + one + " -w 0 -o " + path("never"), "--world-size: must be from 1 to 1024 ranks, got 0");
  EXPECT_FALSE(fs::exists(path("never")));
  ASSERT_EQ(run("batch " + one + " -w 2 -o " + path("dir")).status, 0);
  expect_bad_input("batch " + one + " -w 4 -o " + path("dir"), "holds a batch run with other settings");
  // Resume trusts a profile by its content, not its name: the same file name with another number is refused.
  auto profile = nlohmann::json::parse(read_text(std::string(CPSIM_SOURCE_DIR) + "/data/hardware/h100-sxm-8x.json"));
  const std::string mine = write("mine.json", profile.dump());
  ASSERT_EQ(run("batch " + one + " -w 2 --hardware " + mine + " -o " + path("hw")).status, 0);
  EXPECT_NE(run("batch " + one + " -w 2 --hardware " + mine + " -o " + path("hw")).out.find("(1 resumed"), std::string::npos);
  profile["kernels"]["fa2"]["forward"]["launch_us"]["value"] = 7;
  write("mine.json", profile.dump());
  expect_bad_input("batch " + one + " -w 2 --hardware " + mine + " -o " + path("hw"), "holds a batch run with other settings");
  expect_bad_input("batch " + one + " -w 2 -o " + write("a-file", "x") + "/sub", "--out-dir: cannot create");
}

TEST_F(CliTest, PlanAndCompareOutputsAreByteIdenticalAcrossRuns) {
  // Batch output across job counts is checked in BatchPlansEveryLineResumesAndIsTheSameForAnyJobCount.
  const std::string w = std::string(CPSIM_SOURCE_DIR) + "/data/workloads/doc-uniform-32k-4rows.json";
  for (const char* run_name : {"a", "b"}) {
    const std::string d = path(run_name);
    fs::create_directories(d);
    ASSERT_EQ(run("plan " + w + " -w 8 -b document_hybrid -o " + d + "/plan.json").status, 0);
    ASSERT_EQ(run("plan " + w + " -w 8 -b cost_aware -o " + d + "/plan2.json").status, 0);
    const Outcome c = run("compare " + w + " -w 8 --backward --json --csv " + d + "/c.csv");
    ASSERT_EQ(c.status, 0) << c.err;
    std::ofstream(d + "/c.json") << c.out;
    const Outcome t = run("simulate " + w + " -w 8 -b ptrr -r alltoall --trace " + d + "/trace.json");
    ASSERT_EQ(t.status, 0) << t.err;
  }
  for (const char* f : {"plan.json", "plan2.json", "c.csv", "c.json", "trace.json"}) {
    const std::string a = read_text(path(std::string("a/") + f)), b = read_text(path(std::string("b/") + f));
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_EQ(a, b) << f << " differs between two runs";
  }
}

// Every row compare ranks, Ulysses hybrids and pure Ulysses included, exports with `plan --strategy` (the text in
// the row's strategy field) to a plan that records that strategy whole and predicts the row's step time, and
// `simulate --strategy` reproduces it too.
TEST_F(CliTest, EveryCompareRowExportsWithPlanStrategy) {
  for (const char* name : {"causal-8k.json", "doc-uniform-32k-4rows.json"}) {
    const std::string w = std::string(CPSIM_SOURCE_DIR) + "/data/workloads/" + name;
    const Outcome c = run("compare " + w + " -w 8 --json");
    ASSERT_EQ(c.status, 0) << c.err;
    const auto ranked = nlohmann::json::parse(c.out)["ranked"];
    ASSERT_GT(ranked.size(), 40u);
    std::set<std::string> kinds;
    for (const auto& row : ranked) {
      const std::string text = row["strategy"];
      kinds.insert(row["ulysses"] == 1 ? "ring" : text.rfind("ulysses", 0) == 0 ? "pure ulysses" : "hybrid");

      const Outcome p = run("plan " + w + " -w 8 --strategy '" + text + "' -o " + path("p.json"));
      ASSERT_EQ(p.status, 0) << text << ": " << p.err;
      const auto plan = nlohmann::json::parse(read_text(path("p.json")));
      EXPECT_EQ(plan["strategy"]["text"], text);
      EXPECT_EQ(plan["world_size"], 8 / (row["strategy"].get<std::string>().rfind("ulysses", 0) == 0 ? 8 : row["ulysses"].get<int>()));
      EXPECT_EQ(plan["predicted"]["step_us"].get<double>(), row["step_us"].get<double>()) << text;
      const Outcome sim = run("simulate " + w + " -w 8 --strategy '" + text + "' --json");
      ASSERT_EQ(sim.status, 0) << text << ": " << sim.err;
      EXPECT_EQ(nlohmann::json::parse(sim.out)["step_us"].get<double>(), row["step_us"].get<double>()) << text;
    }
    EXPECT_TRUE(kinds.count("ring") && kinds.count("hybrid") && kinds.count("pure ulysses")) << name;
  }
  // A staged sparse gather reads back and records its stages (compare rarely ranks one now that each exchange pays
  // the all-to-all floor).
  {
    const std::string w = std::string(CPSIM_SOURCE_DIR) + "/data/workloads/doc-uniform-32k-4rows.json";
    const std::string text = "ptrr + sparse_gather/allgather on flex (2 stages)";
    ASSERT_EQ(run("plan " + w + " -w 8 --strategy '" + text + "' -o " + path("p.json")).status, 0);
    EXPECT_EQ(nlohmann::json::parse(read_text(path("p.json")))["strategy"]["text"], text);
  }
  // Flags that contradict the strategy, a world size its Ulysses groups do not divide, and a row that cannot run.
  const std::string w = std::string(CPSIM_SOURCE_DIR) + "/data/workloads/causal-8k.json";
  expect_bad_input("plan " + w + " -w 8 -b ptrr -s 'head_tail + sdpa_ring/alltoall'", "--balancer: ptrr differs from the balancer of --strategy");
  expect_bad_input("plan " + w + " -w 6 -s 'ptrr + ulysses4 x sparse_ring/alltoall'", "--world-size: 6 is not a multiple of the 4 GPUs");
  expect_bad_input("plan " + w + " -w 4 -s ulysses8", "--world-size: 4 is not the 8 GPUs");
  expect_bad_input("plan " + w + " -w 8 -s 'ptrr + sdpa_ring/alltoall' -o " + path("never.json"),
                   "--strategy: ptrr + sdpa_ring/alltoall cannot run this plan: the SDPA ring's halving assumes");
  expect_bad_input("plan " + w + " -w 8 -s 'ptrr + sparse_ring/alltoall' -r allgather", "--strategy: names the path and rotate method itself");
  expect_bad_input("simulate " + w + " -w 8 -s 'ptrr + sparse_ring/alltoall' -b ptrr", "--strategy: names the balancer");
  expect_bad_input("simulate " + w + " -w 8 -s 'ptrr + sparse_gather/allgather (9 stages)'", "takes 1 to 7 stages (one per other rank), not 9");
  expect_bad_input("simulate " + w + " -w 8 -r alltoall", "--balancer: required (or give --strategy)");
  EXPECT_FALSE(fs::exists(path("never.json")));
}

TEST_F(CliTest, SparseGatherPlansExchangeOnlyTheVisibleKv) {
  const std::string w = path("w.json");
  ASSERT_EQ(run("generate --seq-len 1024 --dist uniform --min-len 32 --max-len 256 --multiple-of 8 --seed 3 --q-heads 2 "
                "--kv-heads 1 --head-dim 16 --out " + w).status, 0);
  ASSERT_EQ(run("plan " + w + " -w 4 -b document_hybrid -r allgather -p sparse_gather -o " + path("p.json")).status, 0);
  const Outcome o = run("execute " + path("p.json") + " --backward -o " + path("m.json"));
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("sparse_gather/allgather"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("ran as"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("backward (dQ, dK, dV)"), std::string::npos) << o.out;
  // Fewer K/V bytes than an all-gather, which brings each rank the 3 other shards (256 tokens x 2 x 16 floats).
  std::ifstream in(path("m.json"));
  const auto m = nlohmann::json::parse(in);
  EXPECT_EQ(m["strategy"]["path"], "sparse_gather");
  double received = 0;
  for (const auto& s : m["steps"]) received += s["comm_bytes"].get<double>();
  const double all_gather = 4 * 3 * 256.0 * 2 * 16 * 4;
  EXPECT_GT(received, 0);
  EXPECT_LT(received, all_gather);
  // With the rotate method overridden it runs as the ring and says the exchange was not the sparse one.
  const Outcome ring = run("execute " + path("p.json") + " -r alltoall");
  EXPECT_EQ(ring.status, 0) << ring.err;
  EXPECT_NE(ring.out.find("sparse_gather ran as sparse_ring"), std::string::npos) << ring.out;
}

}  // namespace

// The published record from the command line: validate's table and statistics, its guard, the kernels and their
// sources, a refit from the fit split, and --kernel recorded in a plan.
TEST_F(CliTest, ValidateKernelsAndPublishedCalibration) {
  const Outcome v = run("validate --hardware h100-sxm-8x");
  ASSERT_EQ(v.status, 0) << v.err;
  EXPECT_NE(v.out.find("check (never fitted)"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("fit (set the constants)"), std::string::npos);
  EXPECT_NE(v.out.find("excluded (shown, not scored):"), std::string::npos);
  const Outcome j = run("validate --json");
  ASSERT_EQ(j.status, 0) << j.err;
  const auto parsed = nlohmann::json::parse(j.out);
  EXPECT_GE(parsed["check"]["points"].get<int>(), 40);
  EXPECT_LE(parsed["check"]["median"].get<double>(), 0.10);
  const Outcome guard = run("validate --fail-above 0.001");
  EXPECT_EQ(guard.status, 3) << guard.err;
  EXPECT_NE(guard.err.find("validate: the check split's median |error|"), std::string::npos) << guard.err;

  const Outcome k = run("kernels");
  ASSERT_EQ(k.status, 0) << k.err;
  EXPECT_NE(k.out.find("fa2 (sdpa; called by sdpa_ring (default))"), std::string::npos) << k.out;
  EXPECT_NE(k.out.find("cpsim (block_sparse; called by sparse_ring, sparse_gather) [every constant an estimate]"), std::string::npos) << k.out;
  EXPECT_NE(k.out.find("flex (flex; called by flex_allgather (default), sparse_ring (default), sparse_gather (default))"), std::string::npos) << k.out;
  const Outcome k800 = run("kernels --hardware h800-sxm-8x --json");
  ASSERT_EQ(k800.status, 0) << k800.err;
  EXPECT_EQ(nlohmann::json::parse(k800.out)["kernels_from"], "h100-sxm-8x");

  const Outcome c = run("calibrate --published -o " + path("refit.json"));
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_NE(c.out.find("check split of h100-sxm-8x with the fitted constants"), std::string::npos) << c.out;
  const auto refit = nlohmann::json::parse(read_text(path("refit.json")));
  EXPECT_EQ(refit["name"], "h100-sxm-8x");
  EXPECT_GE(refit["model_error"]["points"].get<int>(), 100);
  EXPECT_EQ(run("validate --hardware " + path("refit.json")).status, 0);

  const std::string w = std::string(CPSIM_SOURCE_DIR) + "/data/workloads/causal-8k.json";
  const Outcome p = run("plan " + w + " -w 8 -b head_tail -r alltoall --kernel fa3 -o " + path("p.json"));
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_NE(p.out.find("sdpa_ring/alltoall on fa3"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("model error on h100-sxm-8x: median"), std::string::npos) << p.out;
  const auto plan = nlohmann::json::parse(read_text(path("p.json")));
  EXPECT_EQ(plan["strategy"]["kernel"], "fa3");
  EXPECT_EQ(plan["predicted"]["kernel"], "fa3");
  // The unmeasured kernel says so under its prediction.
  const Outcome s = run("simulate " + w + " -w 8 -s 'ptrr + sparse_ring/alltoall on cpsim'");
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_NE(s.out.find("kernel cpsim: every constant is an estimate"), std::string::npos) << s.out;
}
