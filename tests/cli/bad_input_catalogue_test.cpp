// The catalogue of hostile inputs: workload, plan, hardware profile and batch files and command-line flags.
// Every case must exit with status 2, print exactly one line "cpsim: error: ..." that contains the expected
// text (file, field and value), and leave nothing behind but its inputs (no output, no temporary file).
#include <cstdio>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"

namespace {

namespace fs = std::filesystem;
using cpsim::testing::CliTest;
using cpsim::testing::Outcome;
using Json = nlohmann::ordered_json;

const std::string kModel = R"("model":{"q_heads":32,"kv_heads":8,"head_dim":128,"dtype":"bf16"})";

// A workload file from its fields; `model` is appended unless the fields name it.
std::string workload(const std::string& fields) {
  return "{" + fields + (fields.find("\"model\"") == std::string::npos ? "," + kModel : "") + "}";
}
const std::string kGood = workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"document_causal"},"documents":[[4,8,4]])");

std::string profile_with(const std::function<void(Json&)>& edit) {
  std::ifstream in(std::string(CPSIM_SOURCE_DIR) + "/data/hardware/h100-sxm-8x.json");
  Json p = Json::parse(in);
  edit(p);
  return p.dump();
}

struct Case {
  std::string name;
  std::vector<std::pair<std::string, std::string>> files;  // written into the case's folder
  std::string prepare;                                       // a cpsim command run first (must succeed)
  std::function<void(const fs::path&)> edit;                 // then this, on the case's folder
  std::string args;                                          // the command under test; {d} is the folder
  std::string expected;                                      // text the error line must contain
};

std::string fill(std::string text, const std::string& dir) {
  for (std::size_t at; (at = text.find("{d}")) != std::string::npos;) text.replace(at, 3, dir);
  return text;
}

void edit_plan(const fs::path& dir, const std::function<void(Json&)>& change) {
  std::ifstream in(dir / "p.json");
  Json plan = Json::parse(in);
  in.close();
  change(plan);
  std::ofstream(dir / "p.json") << plan.dump();
}

// A profile for W up to 1024: 128 nodes of 8 CPU "GPUs".
std::string wide_cpu_profile() {
  std::ifstream in(std::string(CPSIM_SOURCE_DIR) + "/data/hardware/cpu-threads.json");
  Json p = Json::parse(in);
  p["node"]["max_nodes"] = Json{{"value", 128}, {"source", "test"}};
  p["node"]["gpus_per_node"]["value"] = 8;
  p["links"]["infiniband"] = p["links"]["nvlink"];
  return p.dump();
}

void make_fifo(const fs::path& d) { ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0); }

std::vector<Case> catalogue() {
  const std::string plan_cmd = "plan {d}/w.json -w 2 -b head_tail -r alltoall -o {d}/p.json";
  const std::pair<std::string, std::string> good{"w.json", kGood};
  return {
      // Workload files.
      {"truncated workload", {{"w.json", kGood.substr(0, 40)}}, "", nullptr, "plan {d}/w.json -w 2", "w.json: line 1, column"},
      {"empty workload", {{"w.json", ""}}, "", nullptr, "plan {d}/w.json -w 2", "w.json: empty file"},
      {"workload not an object", {{"w.json", "[1, 2]"}}, "", nullptr, "plan {d}/w.json -w 2", "w.json: "},
      {"schema version 2", {{"w.json", workload(R"("schema_version":2,"seq_len":16,"mask":{"kind":"causal"},"documents":[[16]])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "schema_version"},
      {"seq_len a string", {{"w.json", workload(R"("schema_version":1,"seq_len":"16","mask":{"kind":"causal"},"documents":[[16]])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "seq_len: expected an integer, got \"16\""},
      {"seq_len fractional", {{"w.json", workload(R"("schema_version":1,"seq_len":16.5,"mask":{"kind":"causal"},"documents":[[16]])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "seq_len: expected an integer, got 16.5"},
      {"seq_len infinite", {{"w.json", workload(R"("schema_version":1,"seq_len":1e999,"mask":{"kind":"causal"},"documents":[[16]])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "seq_len: number overflow parsing '1e999'"},
      {"seq_len NaN", {{"w.json", workload(R"("schema_version":1,"seq_len":NaN,"mask":{"kind":"causal"},"documents":[[16]])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "w.json: line 1, column"},
      {"seq_len negative", {{"w.json", workload(R"("schema_version":1,"seq_len":-16,"mask":{"kind":"causal"},"documents":[[16]])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "seq_len: "},
      {"seq_len zero", {{"w.json", workload(R"("schema_version":1,"seq_len":0,"mask":{"kind":"causal"},"documents":[[16]])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "seq_len: "},
      {"seq_len whose square overflows", {{"w.json", workload(R"("schema_version":1,"seq_len":4294967296,"mask":{"kind":"causal"},"documents":[[4294967296]])")}},
       "", nullptr, "plan {d}/w.json -w 2", "seq_len: 4294967296 exceeds the maximum"},
      {"documents not summing to seq_len", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"document_causal"},"documents":[[4,8,5]])")}},
       "", nullptr, "plan {d}/w.json -w 2", "documents[0]"},
      {"zero-length document", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"document_causal"},"documents":[[8,0,8]])")}},
       "", nullptr, "plan {d}/w.json -w 2", "documents[0][1]"},
      {"negative document", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"document_causal"},"documents":[[20,-4]])")}},
       "", nullptr, "plan {d}/w.json -w 2", "documents[0]"},
      {"no batch rows", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"causal"},"documents":[])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "documents"},
      {"unknown mask kind", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"casual"},"documents":[[16]])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "mask.kind"},
      {"sliding window without window", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"sliding_window"},"documents":[[16]])")}},
       "", nullptr, "plan {d}/w.json -w 2", "mask.window"},
      {"negative window", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"sliding_window","window":-2},"documents":[[16]])")}},
       "", nullptr, "plan {d}/w.json -w 2", "mask.window"},
      {"prefix beyond seq_len", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"prefix_lm","prefix":40},"documents":[[16]])")}},
       "", nullptr, "plan {d}/w.json -w 2", "mask.prefix"},
      {"misspelt key", {{"w.json", workload(R"("schema_version":1,"seq_length":16,"mask":{"kind":"causal"},"documents":[[16]])")}}, "", nullptr,
       "plan {d}/w.json -w 2", "seq_length"},
      {"zero q heads", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"causal"},"documents":[[16]],"model":{"q_heads":0,"kv_heads":8,"head_dim":128,"dtype":"bf16"})")}},
       "", nullptr, "plan {d}/w.json -w 2", "model.q_heads"},
      {"kv heads not dividing q heads", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"causal"},"documents":[[16]],"model":{"q_heads":32,"kv_heads":5,"head_dim":128,"dtype":"bf16"})")}},
       "", nullptr, "plan {d}/w.json -w 2", "model.kv_heads"},
      {"unknown dtype", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"causal"},"documents":[[16]],"model":{"q_heads":32,"kv_heads":8,"head_dim":128,"dtype":"fp8"})")}},
       "", nullptr, "plan {d}/w.json -w 2", "model.dtype"},
      {"missing workload file", {}, "", nullptr, "plan {d}/missing.json -w 2", "missing.json: cannot open"},
      {"workload is a directory", {}, "", nullptr, "plan {d} -w 2", "is a directory"},
      // Command-line flags.
      {"zero ranks", {good}, "", nullptr, "plan {d}/w.json -w 0", "--world-size: must be a positive number of ranks, got 0"},
      {"more ranks than tokens", {good}, "", nullptr, "compare {d}/w.json -w 32", "--world-size: 32 ranks exceed"},
      {"more ranks than supported", {good}, "", nullptr, "plan {d}/w.json -w 2048", "--world-size: 2048 exceeds the largest"},
      {"unknown balancer", {good}, "", nullptr, "plan {d}/w.json -w 2 -b zigzag", "--balancer: unknown balancer \"zigzag\""},
      {"zero block size", {good}, "", nullptr, "plan {d}/w.json -w 2 -b ptrr --block-size 0", "--block-size"},
      {"document not a multiple of 2W", {good}, "", nullptr, "plan {d}/w.json -w 4 -b per_document_head_tail", "documents[0][0]: length 4 is not a multiple of 2*W = 8"},
      {"unknown distribution", {}, "", nullptr, "generate --seq-len 64 --dist zipf --out {d}/g.json", "--dist: unknown distribution \"zipf\""},
      {"unknown mask flag", {}, "", nullptr, "generate --seq-len 64 --mask nope --out {d}/g.json", "--mask: unknown mask kind \"nope\""},
      {"unknown hardware", {good}, "", nullptr, "compare {d}/w.json -w 2 --hardware tpu-v9", "tpu-v9"},
      {"unknown rotate", {good}, "", nullptr, "simulate {d}/w.json -w 2 -b head_tail -r sideways", "--rotate: unknown rotate method \"sideways\""},
      {"unknown path", {good}, "", nullptr, "simulate {d}/w.json -w 2 -b head_tail -r alltoall -p wormhole", "--path: unknown attention path \"wormhole\""},
      {"ulysses not dividing W", {good}, "", nullptr, "simulate {d}/w.json -w 2 -b head_tail -r alltoall -u 3", "--ulysses: 3 must be a positive divisor"},
      {"gather stages beyond W - 1", {good}, "", nullptr, "simulate {d}/w.json -w 2 -b head_tail -r allgather -p sparse_gather --gather-stages 2",
       "--gather-stages: 2 is not between 1 and W - 1 = 1"},
      {"gather stages on a ring", {good}, "", nullptr, "simulate {d}/w.json -w 2 -b head_tail -r alltoall --gather-stages 2",
       "--gather-stages: 2 applies to the sparse_gather path only"},
      {"backward prediction with nothing recorded", {good}, "", nullptr, "plan {d}/w.json -w 2 -b head_tail --backward",
       "--backward: applies to the recorded prediction, so needs --out, --rotate or --strategy"},
      {"output in a missing folder", {good}, "", nullptr, "plan {d}/w.json -w 2 -b head_tail -o {d}/no/such/p.json", "p.json: cannot write"},
      {"output is a folder", {good}, "", nullptr, "compare {d}/w.json -w 2 --csv {d}", "cannot write"},
      {"negative jobs", {good}, "", nullptr, "batch {d}/w.json -w 2 -o {d}/out -j -1", "--jobs"},
      // Hardware profiles.
      {"truncated profile", {good, {"hw.json", R"({"name": "x", "gpu": {)"}}, "", nullptr, "compare {d}/w.json -w 2 --hardware {d}/hw.json", "hw.json: line 1"},
      {"negative bandwidth", {good, {"hw.json", profile_with([](Json& p) { p["links"]["nvlink"]["p2p"]["busbw_gb_s"]["value"] = -250; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "links.nvlink.p2p.busbw_gb_s.value: must be a number above 0.001, got -250"},
      {"bandwidth as text", {good, {"hw.json", profile_with([](Json& p) { p["links"]["nvlink"]["p2p"]["busbw_gb_s"]["value"] = "fast"; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "links.nvlink.p2p.busbw_gb_s.value"},
      {"unsourced number", {good, {"hw.json", profile_with([](Json& p) { p["gpu"]["sm_count"].erase("source"); })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "gpu.sm_count.source: missing"},
      {"zero SMs", {good, {"hw.json", profile_with([](Json& p) { p["gpu"]["sm_count"]["value"] = 0; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "gpu.sm_count.value: must be a positive number, got 0"},
      {"partial tiles free", {good, {"hw.json", profile_with([](Json& p) { p["kernels"]["flex"]["forward"]["hdim128"]["partial_tile_cost"]["value"] = 0; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "kernels.flex.forward.hdim128.partial_tile_cost.value: must be a number above 0.001, got 0"},
      {"more ranks than a capped cluster has", {good, {"hw.json", profile_with([](Json& p) { p["node"]["max_nodes"] = Json{{"value", 1}, {"source", "s"}}; })}},
       "", nullptr, "compare {d}/w.json -w 16 --hardware {d}/hw.json", "16 ranks need more GPUs than profile h100-sxm-8x has (1 node(s) x 8 = 8: node.max_nodes"},
      {"schema 1 profile", {good, {"hw.json", profile_with([](Json& p) { p["schema_version"] = 1; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "schema_version: unsupported version 1 (this cpsim reads 2"},
      {"kernel efficiency past the peak", {good, {"hw.json", profile_with([](Json& p) { p["kernels"]["fa3"]["forward"]["hdim64"]["efficiency"]["value"] = 1.2; })}},
       "", nullptr, "compare {d}/w.json -w 2 --hardware {d}/hw.json", "kernels.fa3.forward.hdim64.efficiency.value: must be at most 1, got 1.2"},
      {"kernel with an unknown interface", {good, {"hw.json", profile_with([](Json& p) { p["kernels"]["fa2"]["interface"] = "magic"; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "kernels.fa2.interface: expected sdpa, flex, block_sparse or any, got \"magic\""},
      {"tile of odd size", {good, {"hw.json", profile_with([](Json& p) { p["kernels"]["flex"]["backward"]["hdim256"]["tile"]["value"] = Json::parse("[64, 0]"); })}},
       "", nullptr, "compare {d}/w.json -w 2 --hardware {d}/hw.json", "kernels.flex.backward.hdim256.tile.value: expected [queries, keys]"},
      {"profile whose kernels come from itself", {good, {"hw.json", profile_with([](Json& p) { p.erase("kernels"); p["kernels_from"] = "hw"; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "kernels_from: \"hw\": "},
      {"profile with no kernels", {good, {"hw.json", profile_with([](Json& p) { p["kernels"] = Json::object(); })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "kernels: lists no kernel"},
      {"negative link floor", {good, {"hw.json", profile_with([](Json& p) { p["links"]["nvlink"]["all_gather"]["floor_us"]["value"] = -1; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "links.nvlink.all_gather.floor_us.value: must be zero or positive, got -1"},
      {"model error out of range", {good, {"hw.json", profile_with([](Json& p) { p["model_error"]["p90"] = 1e9; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "model_error.p90: expected a fraction from 0 to 10, got 1000000000"},
      // Kernels on the command line.
      {"unknown kernel", {good}, "", nullptr, "compare {d}/w.json -w 2 --kernel fa9", "--kernel: \"fa9\" is not a kernel of h100-sxm-8x"},
      {"kernel a path cannot call", {good}, "", nullptr, "simulate {d}/w.json -w 2 -b contiguous -r alltoall -p sparse_ring --block-size 8 --kernel fa3",
       "sparse_ring cannot call fa3 (a sdpa kernel); on h100-sxm-8x it runs flex, cpsim"},
      {"kernel flag against the strategy's", {good}, "", nullptr, "simulate {d}/w.json -w 2 -s 'ptrr + flex_allgather/allgather on flex' --kernel cpsim",
       "--kernel: cpsim differs from the kernel of --strategy (flex)"},
      {"kernel in the strategy text misspelt", {good}, "", nullptr, "plan {d}/w.json -w 2 -s 'ptrr + flex_allgather/allgather on Flex!' -o {d}/p.json",
       "expected a kernel name (a-z, 0-9, _) after \" on \""},
      {"kernel without a recorded prediction", {good}, "", nullptr, "plan {d}/w.json -w 2 -b ptrr --kernel flex", "--kernel: applies to the recorded prediction"},
      // Published measurements and calibration against them.
      {"validation folder without files", {}, "", nullptr, "validate --data {d}", "validation data: no *.json files in"},
      {"validation point without a split", {{"v.json", R"({"source": {"title": "t", "url": "https://x"}, "hardware": "h100-sxm-8x", "points": [{"id": "a", "kind": "kernel", "kernel": "fa2", "pass": "forward", "mask": "causal", "batch": 1, "seq_len": 128, "q_heads": 8, "kv_heads": 8, "head_dim": 64, "metric": "time_ms", "value": 1}]})"}},
       "", nullptr, "validate --data {d}", "v.json: points[0].split: expected fit, check or excluded, got \"\""},
      {"validation point of a kernel the profile lacks", {{"v.json", R"({"source": {"title": "t", "url": "https://x"}, "hardware": "h100-sxm-8x", "points": [{"id": "a", "split": "check", "kind": "kernel", "kernel": "fa9", "pass": "forward", "mask": "causal", "batch": 1, "seq_len": 128, "q_heads": 8, "kv_heads": 8, "head_dim": 64, "metric": "time_ms", "value": 1}]})"}},
       "", nullptr, "validate --data {d}", "point a: kernel \"fa9\" is not in profile h100-sxm-8x"},
      {"validation guard that is not a number", {good}, "", nullptr, "validate --fail-above nan", "--fail-above"},
      {"validation of a profile with no points", {good}, "", nullptr, "validate --hardware cpu-threads", "--hardware: no published measurement in"},
      {"published fit and measurements at once", {good}, "", nullptr, "calibrate {d}/w.json --published -o {d}/out.json", "--published: fits the published measurements instead"},
      {"published fit for hardware without fit points", {good}, "", nullptr, "calibrate --published --hardware h800-sxm-8x -o {d}/out.json",
       "--published: " + std::string(CPSIM_SOURCE_DIR) + "/data/validation has no fit-split point for h800-sxm-8x"},
      // Plan files (run by `cpsim execute`).
      {"truncated plan", {good, {"p.json", R"({"schema_version": 1, "world_size": )"}}, "", nullptr, "execute {d}/p.json", "p.json: line 1"},
      {"plan world size not splitting seq_len", {good}, plan_cmd, [](const fs::path& d) { edit_plan(d, [](Json& p) { p["world_size"] = 3; }); },
       "execute {d}/p.json", "world_size: 3 does not split seq_len 16"},
      {"plan whose workload was edited", {good}, plan_cmd,
       [](const fs::path& d) { edit_plan(d, [](Json& p) { p["workload"]["documents"] = Json::parse("[[8,4,4]]"); }); }, "execute {d}/p.json", "workload_digest"},
      {"plan with a repeated index", {good}, plan_cmd,
       [](const fs::path& d) { edit_plan(d, [](Json& p) { p["rearrange_indices"][0][1] = p["rearrange_indices"][0][0]; }); }, "execute {d}/p.json",
       "rearrange_indices[0]"},
      {"plan whose restore is not the inverse", {good}, plan_cmd,
       [](const fs::path& d) { edit_plan(d, [](Json& p) { std::swap(p["restore_indices"][0][0], p["restore_indices"][0][1]); }); }, "execute {d}/p.json",
       "restore_indices[0][0]"},
      {"plan whose source is a number", {good}, plan_cmd, [](const fs::path& d) { edit_plan(d, [](Json& p) { p["workload_source"] = 7; }); },
       "execute {d}/p.json", "workload_source: expected a string, got 7"},
      {"plan with a negative Ulysses degree", {good}, plan_cmd, [](const fs::path& d) { edit_plan(d, [](Json& p) { p["ulysses"] = -1; }); },
       "execute {d}/p.json", "ulysses: must be a Ulysses degree from 1 to 1024, got -1"},
      {"unknown device", {good}, plan_cmd, nullptr, "execute {d}/p.json --device tpu", "--device"},
      {"backward on cuda", {good}, plan_cmd, nullptr, "execute {d}/p.json --device cuda --backward", "--backward: the CUDA executor runs the forward pass only"},
      // Batch files.
      {"batch with a bad line", {{"b.jsonl", kGood + "\n" + workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"causal"},"documents":[[15]])") + "\n"}},
       "", nullptr, "batch {d}/b.jsonl -w 2 -o {d}/out", "b.jsonl:2: documents[0]"},
      {"batch with a truncated line", {{"b.jsonl", kGood + "\n" + kGood.substr(0, 25) + "\n"}}, "", nullptr, "batch {d}/b.jsonl -w 2 -o {d}/out",
       "b.jsonl:2: line 1, column"},
      {"batch without workloads", {{"b.jsonl", "\n\n"}}, "", nullptr, "batch {d}/b.jsonl -w 2 -o {d}/out", "b.jsonl: no workloads"},
      {"batch line that is not an object", {{"b.jsonl", "42\n"}}, "", nullptr, "batch {d}/b.jsonl -w 2 -o {d}/out", "b.jsonl:1: "},
      {"batch output under a file", {{"b.jsonl", kGood + "\n"}, {"f", "x"}}, "", nullptr, "batch {d}/b.jsonl -w 2 -o {d}/f/out", "--out-dir: cannot create"},
      {"batch with an unknown balancer", {{"b.jsonl", kGood + "\n"}}, "", nullptr, "batch {d}/b.jsonl -w 2 -o {d}/out --balancers ptrr,nope",
       "--balancers: unknown balancer \"nope\""},
      // Measurements (cpsim calibrate).
      {"calibrate a workload file", {good}, "", nullptr, "calibrate {d}/w.json --out {d}/h2.json", "w.json: "},

      // Outputs that are not a regular file or a new name, or are an input of the same command.
      {"output onto a character device", {good}, "", nullptr, "plan {d}/w.json -w 2 -b head_tail -r alltoall -o /dev/null",
       "/dev/null: cannot write: is a character device"},
      {"trace onto standard output", {good}, "", nullptr, "simulate {d}/w.json -w 2 -b head_tail -r alltoall --trace /dev/stdout",
       "/dev/stdout: cannot write: is a symbolic link"},
      {"output onto a FIFO", {good}, "", make_fifo, "compare {d}/w.json -w 2 --csv {d}/fifo", "fifo: cannot write: is a FIFO"},
      {"output onto a link to the terminal", {good}, "", [](const fs::path& d) { fs::create_symlink("/proc/self/fd/1", d / "out"); },
       "plan {d}/w.json -w 2 -b head_tail -r alltoall -o {d}/out", "out: cannot write: is a symbolic link"},
      {"plan written over its workload", {good}, "", nullptr, "plan {d}/w.json -w 2 -b head_tail -r alltoall -o {d}/w.json",
       "w.json: cannot write: it is an input of this command"},
      {"trace written over the workload", {good}, "", nullptr, "simulate {d}/w.json -w 2 -b head_tail -r alltoall --trace {d}/w.json",
       "w.json: cannot write: it is an input of this command"},
      {"measurement written over the plan", {good}, plan_cmd, nullptr, "execute {d}/p.json -o {d}/p.json",
       "p.json: cannot write: it is an input of this command"},
      {"output through another name of the input", {good}, "", [](const fs::path& d) { fs::create_hard_link(d / "w.json", d / "again.json"); },
       "plan {d}/w.json -w 2 -b head_tail -r alltoall -o {d}/again.json", "again.json: cannot write: it is an input of this command"},
      {"empty output path", {good}, "", nullptr, "plan {d}/w.json -w 2 -b head_tail -o ''", "--out: an empty path"},
      {"empty batch folder", {{"b.jsonl", kGood + "\n"}}, "", nullptr, "batch {d}/b.jsonl -w 2 -o ''", "--out-dir: an empty path"},

      // Inputs that would crash, hang or exhaust memory.
      {"deeply nested workload", {{"w.json", std::string(200000, '[')}}, "", nullptr, "plan {d}/w.json -w 2", "w.json: line 1, column 65: nested deeper than 64 levels"},
      {"deeply nested prediction in a plan", {good}, plan_cmd,
       [](const fs::path& d) {
         std::ifstream in(d / "p.json");
         std::string text((std::istreambuf_iterator<char>(in)), {});
         in.close();
         const auto at = text.find("\"predicted\": ") + 13;
         text.insert(at, "{\"x\": " + std::string(100, '[') + std::string(100, ']') + ", \"was\": ");
         text.insert(text.find("\n", at) - 1, "}");
         std::ofstream(d / "p.json") << text;
       },
       "execute {d}/p.json", "nested deeper than 64 levels"},
      {"workload from /dev/zero", {}, "", nullptr, "plan /dev/zero -w 2", "/dev/zero: cannot read: is a character device"},
      {"workload from a FIFO nobody writes", {}, "", make_fifo, "plan {d}/fifo -w 2", "fifo: cannot read: is a FIFO"},
      {"workload file above 512 MiB", {{"big.json", "{}"}}, "", [](const fs::path& d) { fs::resize_file(d / "big.json", (std::uintmax_t{512} << 20) + 1); },
       "plan {d}/big.json -w 2", "big.json: cannot read: 536870913 bytes, more than the 512 MiB"},
      {"seq_len 2^30", {{"w.json", workload(R"("schema_version":1,"seq_len":1073741824,"mask":{"kind":"causal"},"documents":[[1073741824]])")}}, "",
       nullptr, "plan {d}/w.json -w 2", "seq_len: 1073741824 exceeds the maximum 16777216 tokens"},
      {"generate 1e9 rows", {}, "", nullptr, "generate --seq-len 1024 --rows 1000000000 --out {d}/g.json", "--rows: must be from 1 to 16384"},
      {"generate rows in exponent notation", {}, "", nullptr, "generate --seq-len 1024 --rows 1e9 --out {d}/g.json", "--rows: 1e9 is not an integer in plain decimal"},
      {"generate 1e9 batches", {}, "", nullptr, "generate --seq-len 1024 --batches 1000000000 --out {d}/g.jsonl", "--batches: must be from 1 to 1000000"},
      {"a billion q heads", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"causal"},"documents":[[16]],"model":{"q_heads":4611686018427387904,"kv_heads":8,"head_dim":128,"dtype":"bf16"})")}},
       "", nullptr, "plan {d}/w.json -w 2", "model.q_heads: must be from 1 to 16384"},
      {"head dim near 2^63", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"mask":{"kind":"causal"},"documents":[[16]],"model":{"q_heads":8,"kv_heads":8,"head_dim":9223372036854775807,"dtype":"bf16"})")}},
       "", nullptr, "plan {d}/w.json -w 2", "model.head_dim: must be from 1 to 16384"},
      {"block size 2^62", {good}, "", nullptr, "plan {d}/w.json -w 2 -b striped_block --block-size 4611686018427387904",
       "--block-size: must be from 1 to 1048576"},
      {"block size 1 on 131,072 tokens", {}, "", nullptr, "plan " + std::string(CPSIM_SOURCE_DIR) + "/data/workloads/doc-lognormal-128k.json -w 8 --block-size 1",
       "--block-size: 1 cuts"},
      {"batch with block size 0", {{"b.jsonl", kGood + "\n"}}, "", nullptr, "batch {d}/b.jsonl -w 2 -o {d}/out --block-size 0",
       "--block-size: must be from 1 to 1048576, got 0"},
      {"batch with 2000 jobs", {{"b.jsonl", kGood + "\n"}}, "", nullptr, "batch {d}/b.jsonl -w 2 -o {d}/out -j 2000", "--jobs: must be from 0 (all cores) to 256"},
      {"1024 ranks as threads", {{"hw.json", wide_cpu_profile()}}, "generate --seq-len 1024 --dist fixed --length 1024 --mask causal --q-heads 1 --kv-heads 1 --head-dim 8 --out {d}/w.json",
       [](const fs::path& d) {
         ASSERT_EQ(std::system((std::string(CPSIM_BINARY) + " plan " + (d / "w.json").string() + " -w 1024 -b contiguous -r alltoall --hardware " +
                                (d / "hw.json").string() + " -o " + (d / "p.json").string() + " > /dev/null").c_str()), 0);
       },
       "execute {d}/p.json", "world_size: 1024 ranks are more than the 256 the CPU executor runs as threads"},

      // Numbers that pass as numbers but mean nothing.
      {"timeout infinite", {good}, plan_cmd, nullptr, "execute {d}/p.json --timeout-s inf", "--timeout-s: inf is not a finite number"},
      {"timeout NaN", {good}, plan_cmd, nullptr, "execute {d}/p.json --timeout-s nan", "--timeout-s: nan is not a finite number"},
      {"timeout of 1e300 s", {good}, plan_cmd, nullptr, "execute {d}/p.json --timeout-s 1e300", "--timeout-s: 1e300 is out of range"},
      {"W in octal", {good}, "", nullptr, "plan {d}/w.json -w 010", "--world-size: 010 is not an integer in plain decimal"},
      {"W in hex", {good}, "", nullptr, "plan {d}/w.json -w 0x2", "--world-size: 0x2 is not an integer in plain decimal"},
      {"negative seed", {}, "", nullptr, "generate --seq-len 64 --seed -5 --out {d}/g.json", "--seed: -5 is not a non-negative integer"},
      {"1e300 SMs", {good, {"hw.json", profile_with([](Json& p) { p["gpu"]["sm_count"]["value"] = 1e300; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "gpu.sm_count.value: must be at most 100000"},
      {"denormal bandwidth", {good, {"hw.json", profile_with([](Json& p) { p["links"]["nvlink"]["p2p"]["busbw_gb_s"]["value"] = 5e-324; })}}, "",
       nullptr, "compare {d}/w.json -w 2 --hardware {d}/hw.json", "links.nvlink.p2p.busbw_gb_s.value: must be a number above 0.001, got 5e-324"},
      {"blank source", {good, {"hw.json", profile_with([](Json& p) { p["gpu"]["hbm_gb"]["source"] = "   "; })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "gpu.hbm_gb.source: blank"},
      {"duplicate key", {{"w.json", R"({"schema_version":1,"seq_len":16,"seq_len":32,"mask":{"kind":"causal"},"documents":[[16]],)" + kModel + "}"}},
       "", nullptr, "plan {d}/w.json -w 2", "w.json: seq_len: appears twice in one object"},
      {"NUL then garbage", {{"w.json", kGood + std::string(1, '\0') + "garbage"}}, "", nullptr, "plan {d}/w.json -w 2", "w.json: line 1, column 156: a NUL byte"},
      {"plan without its digest, workload edited", {good}, plan_cmd,
       [](const fs::path& d) { edit_plan(d, [](Json& p) { p.erase("workload_digest"); p["workload"]["documents"] = Json::parse("[[8,4,4]]"); }); },
       "execute {d}/p.json", "workload_digest: missing"},

      // Messages stay on one line and send no escape code to the terminal, and name the real culprit.
      {"newline and escape in a key", {{"w.json", R"({"schema_version":1,"seq_len":16,"mask":{"kind":"causal"},"documents":[[16]],"se\nq\u001b[2J":1,)" + kModel + "}"}},
       "", nullptr, "plan {d}/w.json -w 2", "se\\nq\\x1b[2J: unknown field"},
      {"newline in a file name", {{"bad\nname.json", kGood.substr(0, 20)}}, "", nullptr, "plan '{d}/bad\nname.json' -w 2", "bad\\nname.json: line 1"},
      {"escape in a flag", {good}, "", nullptr, "plan {d}/w.json -w 2 -b \"$(printf '\\033[2Jx')\"", "--balancer: unknown balancer \"\\x1b[2Jx\""},
      {"a bad plan rotate names the plan", {good}, plan_cmd, [](const fs::path& d) { edit_plan(d, [](Json& p) { p["rotate"] = "sideways"; }); },
       "execute {d}/p.json", "p.json: rotate: unknown rotate method \"sideways\""},
      {"too few GPUs names the profile", {good, {"hw.json", profile_with([](Json& p) {
                                          p["node"]["gpus_per_node"]["value"] = 1;
                                          p["links"].erase("infiniband");
                                        })}}, "", nullptr,
       "compare {d}/w.json -w 2 --hardware {d}/hw.json", "node.gpus_per_node), and it describes no fabric between nodes (links.infiniband in"},
      {"calibrate errors name the measurement", {good, {"m.json", R"({"schema_version": 1})"}}, "", nullptr, "calibrate {d}/m.json --out {d}/h2.json",
       "m.json: executor: missing"},

      // cpsim import and generate --dist mixture (issue 16).
      {"import: a negative length", {{"l.txt", "4\n-5\n"}}, "", nullptr, "import {d}/l.txt --seq-len 8 -o {d}/w.json",
       "l.txt: line 2: a document length must be positive, got -5"},
      {"import: a zero length", {{"l.txt", "0\n"}}, "", nullptr, "import {d}/l.txt --seq-len 8 -o {d}/w.json", "l.txt: line 1: a document length must be positive, got 0"},
      {"import: a length of 2^40", {{"l.txt", "8\n1099511627776\n"}}, "", nullptr, "import {d}/l.txt --seq-len 8 -o {d}/w.json",
       "l.txt: line 2: document length 1099511627776 is more than the 16777216 tokens (2^24)"},
      {"import: a fractional length", {{"l.txt", "12.5\n"}}, "", nullptr, "import {d}/l.txt -o {d}/w.json",
       "l.txt: line 1: expected a document length (a positive integer), got \"12.5\""},
      {"import: a NaN length", {{"l.txt", "4\nNaN\n"}}, "", nullptr, "import {d}/l.txt -o {d}/w.json",
       "l.txt: line 2: expected a document length (a positive integer), got \"NaN\""},
      {"import: an empty file", {{"l.txt", ""}}, "", nullptr, "import {d}/l.txt -o {d}/w.json", "l.txt: no document lengths: the file is empty"},
      {"import: a binary file", {{"l.txt", std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0", 20)}}, "", nullptr, "import {d}/l.txt -o {d}/w.json",
       "l.txt: line 1: a NUL byte: a file of lengths is text"},
      {"import: CSV without the column", {{"l.csv", "id,len\n1,5\n"}}, "", nullptr, "import {d}/l.csv --column tokens -o {d}/w.json",
       "l.csv: --column: no column \"tokens\" in the header (columns: \"id\", \"len\")"},
      {"import: CSV without --column", {{"l.csv", "id,len\n1,5\n"}}, "", nullptr, "import {d}/l.csv -o {d}/w.json", "l.csv: --column: a CSV file needs --column NAME"},
      {"import: a JSONL line that is not JSON", {{"l.jsonl", "5\nnot json\n"}}, "", nullptr, "import {d}/l.jsonl -o {d}/w.json", "l.jsonl: line 2: column"},
      {"import: a JSONL field holding text", {{"l.jsonl", "{\"text\": \"hello\"}\n"}}, "", nullptr, "import {d}/l.jsonl --field text -o {d}/w.json",
       "l.jsonl: line 1: text: expected a number of tokens (or an array of token ids), got the string \"hello\""},
      {"import: .npy of floats", {{"l.npy", std::string("\x93NUMPY\x01\x00\x76\x00", 10) + [] {
                                    std::string d = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
                                    d.resize(117, ' ');
                                    return d + "\n" + std::string(16, '\x01');
                                  }()}},
       "", nullptr, "import {d}/l.npy -o {d}/w.json", "l.npy: descr: dtype \"<f8\" is floating point: document lengths must be integers"},
      {"import: .npy of objects", {{"l.npy", std::string("\x93NUMPY\x01\x00\x76\x00", 10) + [] {
                                     std::string d = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }";
                                     d.resize(117, ' ');
                                     return d + "\n" + std::string(16, '\x01');
                                   }()}},
       "", nullptr, "import {d}/l.npy -o {d}/w.json", "l.npy: descr: dtype \"|O\" holds Python objects"},
      {"import: 2-D .npy", {{"l.npy", std::string("\x93NUMPY\x01\x00\x76\x00", 10) + [] {
                              std::string d = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }";
                              d.resize(117, ' ');
                              return d + "\n" + std::string(32, '\x01');
                            }()}},
       "", nullptr, "import {d}/l.npy -o {d}/w.json", "l.npy: shape: 2-D array of shape (2, 2); give a 1-D array"},
      {"import: .npy with a truncated header", {{"l.npy", std::string("\x93NUMPY\x01\x00\x76\x00{'descr': '<i8', 'fortr", 30)}}, "", nullptr,
       "import {d}/l.npy -o {d}/w.json", "l.npy: header: says it is 118 bytes long, but the file ends 20 bytes into it"},
      {"import: .npy whose header lies about its size", {{"l.npy", std::string("\x93NUMPY\x01\x00\xff\x7f", 10) + [] {
                                                          std::string d = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
                                                          d.resize(117, ' ');
                                                          return d + "\n" + std::string(16, '\x01');
                                                        }()}},
       "", nullptr, "import {d}/l.npy -o {d}/w.json", "l.npy: header: says it is 32767 bytes long, but the file ends 134 bytes into it"},
      {"import: .npy whose shape lies about the data", {{"l.npy", std::string("\x93NUMPY\x01\x00\x76\x00", 10) + [] {
                                                         std::string d = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
                                                         d.resize(117, ' ');
                                                         return d + "\n" + std::string("\x05\0\0\0\0\0\0\0\x05\0\0\0\0\0\0\0", 16);
                                                       }()}},
       "", nullptr, "import {d}/l.npy -o {d}/w.json", "l.npy: shape: (3,) of <i8 needs 24 bytes of data after the header, the file has 16"},
      {"import: .npy that is not one", {{"l.npy", "4096\n12\n"}}, "", nullptr, "import {d}/l.npy -o {d}/w.json", "l.npy: not a NumPy .npy file"},
      {"import: seq_len 0", {{"l.txt", "4\n"}}, "", nullptr, "import {d}/l.txt --seq-len 0 -o {d}/w.json", "--seq-len: must be from 1 to 16777216 tokens (2^24), got 0"},
      {"import: negative seq_len", {{"l.txt", "4\n"}}, "", nullptr, "import {d}/l.txt --seq-len -8 -o {d}/w.json", "--seq-len: must be from 1 to 16777216 tokens (2^24), got -8"},
      {"import: a document longer than a row for ffd", {{"l.txt", "4\n9\n"}}, "", nullptr, "import {d}/l.txt --seq-len 8 --pack ffd -o {d}/w.json",
       "l.txt: document: the 2nd document (9 tokens) is longer than --seq-len 8, and ffd does not cut documents; pass --split-long"},
      {"import: unknown packing", {{"l.txt", "4\n"}}, "", nullptr, "import {d}/l.txt --seq-len 8 --pack first_fit -o {d}/w.json", "--pack: unknown packing \"first_fit\""},
      {"import: masked padding", {{"l.txt", "4\n"}}, "", nullptr, "import {d}/l.txt --seq-len 8 --pad masked -o {d}/w.json", "--pad: masked is not supported"},
      {"import: packing flags without seq_len", {{"l.txt", "4\n"}}, "", nullptr, "import {d}/l.txt --rows 4 -o {d}/w.json", "--rows: packs rows, so needs --seq-len"},
      {"import: a file of unknown format", {{"l.dat", "4\n"}}, "", nullptr, "import {d}/l.dat -o {d}/w.json", "l.dat: --format: cannot tell the format"},
      {"import: output onto the input", {{"l.txt", "4\n"}}, "", nullptr, "import {d}/l.txt --seq-len 8 -o {d}/l.txt", "l.txt: cannot write: it is an input of this command"},
      {"import: output onto another name of the input", {{"l.txt", "4\n"}}, "", [](const fs::path& d) { fs::create_hard_link(d / "l.txt", d / "again.txt"); },
       "import {d}/l.txt --seq-len 8 -o {d}/again.txt", "again.txt: cannot write: it is an input of this command"},
      {"import: more tokens than a workload as given", {{"l.txt", "16777216\n1\n"}}, "", nullptr, "import {d}/l.txt -o {d}/w.json",
       "l.txt: documents: 2 documents hold 16777217 tokens, more than the 16777216 (2^24)"},
      {"import: more rows than a workload holds", {{"l.txt", "16777216\n16777216\n"}}, "", nullptr, "import {d}/l.txt --seq-len 16777216 -o {d}/w.json",
       "l.txt: --rows: the documents fill 2 rows of 16777216 tokens, more than the 1 one workload holds (2^24 tokens)"},
      {"import: rows past the limit", {{"l.txt", "4\n"}}, "", nullptr, "import {d}/l.txt --seq-len 8192 --rows 4096 -o {d}/w.json", "--rows: must be from 1 to 2048"},
      {"generate: mixture weight zero", {}, "", nullptr, "generate --seq-len 64 --dist mixture --mix 'fixed:length=8:0' --out {d}/g.json",
       "--mix: component 1 (fixed): weight: must be a finite number above 0, got \"0\""},
      {"generate: mixture weight negative", {}, "", nullptr, "generate --seq-len 64 --dist mixture --mix 'fixed:length=8:1;uniform:max_len=9:-2' --out {d}/g.json",
       "--mix: component 2 (uniform): weight: must be a finite number above 0, got \"-2\""},
      {"generate: mixture of an unknown distribution", {}, "", nullptr, "generate --seq-len 64 --dist mixture --mix 'zipf:s=1:1' --out {d}/g.json",
       "--mix: component 1: unknown distribution \"zipf\" (expected fixed, uniform, lognormal or pareto)"},
      {"generate: mixture with an unknown parameter", {}, "", nullptr, "generate --seq-len 64 --dist mixture --mix 'fixed:mean=8:1' --out {d}/g.json",
       "--mix: component 1 (fixed): unknown parameter \"mean\" (fixed takes length, min_len, max_len)"},
      {"generate: mixture component out of range", {}, "", nullptr, "generate --seq-len 64 --dist mixture --mix 'lognormal:mean=0:1' --out {d}/g.json",
       "--mix: component 1 (lognormal): mean: lognormal needs a mean of at least 1 token, got 0"},
      {"generate: mixture without --mix", {}, "", nullptr, "generate --seq-len 64 --dist mixture --out {d}/g.json", "--mix: --dist mixture needs --mix"},
      {"generate: --mix without the mixture", {}, "", nullptr, "generate --seq-len 64 --mix 'fixed:length=8:1' --out {d}/g.json", "--mix: applies to --dist mixture only"},
      {"a workload that is a list of lengths", {{"w.json", "4096\n12\n"}}, "", nullptr, "plan {d}/w.json -w 2",
       "w.json: line 2, column 0: syntax error while parsing value - unexpected number literal; expected end of input; it looks like a list of document lengths"},
      {"a workload without its mask", {{"w.json", workload(R"("schema_version":1,"seq_len":16,"documents":[[16]])")}}, "", nullptr, "plan {d}/w.json -w 2",
       "w.json: mask: missing; a minimal workload: {\"schema_version\":1,"},

      // execute's estimate and calibrate's diagnostics (issue 16).
      {"execute a workload file", {good}, "", nullptr, "execute {d}/w.json", "w.json is a workload, not a plan: make one with cpsim plan "},
      {"execute a measurement", {good}, plan_cmd,
       [](const fs::path& d) {
         ASSERT_EQ(std::system((std::string(CPSIM_BINARY) + " execute " + (d / "p.json").string() + " -o " + (d / "m.json").string() + " > /dev/null").c_str()), 0);
       },
       "execute {d}/m.json", "m.json is a measurement (what cpsim execute writes), not a plan: execute the plan it came from"},
      {"estimate of a GPU run", {good}, plan_cmd, nullptr, "execute {d}/p.json --device cuda --estimate", "--estimate: estimates the CPU executor's run time (--device cpu)"},
      {"estimate of a shape that cannot run", {good}, plan_cmd, nullptr, "execute {d}/p.json --estimate --q-heads 3 --kv-heads 2",
       "--kv-heads: 2 must be positive and divide q heads 3"},
      {"calibrate a plan file", {good}, plan_cmd, nullptr, "calibrate {d}/p.json -o {d}/h2.json", "p.json is a plan, not a measurement: make one with cpsim execute "},
      {"strict calibration from one sample", {good}, plan_cmd,
       [](const fs::path& d) {
         ASSERT_EQ(std::system((std::string(CPSIM_BINARY) + " execute " + (d / "p.json").string() + " -o " + (d / "m.json").string() + " > /dev/null").c_str()), 0);
         std::ifstream in(d / "m.json");
         Json m = Json::parse(in);
         in.close();
         Json one = Json::array();
         for (Json s : m["steps"]) {
           if (one.empty() && s["full_tiles"].get<int>() + s["partial_tiles"].get<int>() > 0) {
             s["compute_us"] = 1000.0;  // a time of its own, whatever this machine did
             s["comm_us"] = 0.0;
             s["comm_bytes"] = 0.0;
             one.push_back(s);
           }
         }
         m["steps"] = one;
         std::ofstream(d / "m.json") << m.dump();
       },
       "calibrate {d}/m.json --hardware cpu-threads --strict -o {d}/fit.json", "m.json: kernels.cpu.forward: 1 sample for "},

      // compare --export, --runtime, sweep and node counts (issue 16).
      {"compare export into a folder that holds files", {good}, "",
       [](const fs::path& d) {
         fs::create_directories(d / "out");
         std::ofstream(d / "out" / "old.json") << "{}";
       },
       "compare {d}/w.json -w 2 --export {d}/out", "out is not empty: plans of an earlier run would mix with these"},
      {"calibrate the same measurement twice", {good}, "plan {d}/w.json -w 2 -b head_tail -r alltoall --hardware cpu-threads -o {d}/p.json",
       [](const fs::path& d) {
         ASSERT_EQ(std::system((std::string(CPSIM_BINARY) + " execute " + (d / "p.json").string() + " --out " + (d / "m.json").string() +
                                " > /dev/null 2>&1").c_str()),
                   0);
         fs::copy_file(d / "m.json", d / "m2.json");
       },
       "calibrate {d}/m.json {d}/m2.json --hardware cpu-threads --out {d}/c.json", "m2.json: the same measurement as "},
      {"sweep world size 0", {good}, "", nullptr, "sweep {d}/w.json --world-sizes 0", "--world-sizes: 0 is out of range (1 to 1024)"},
      {"sweep world size not a number", {good}, "", nullptr, "sweep {d}/w.json --world-sizes 2,x", "--world-sizes: x is not a non-negative integer"},
      {"sweep world size past the limit", {good}, "", nullptr, "sweep {d}/w.json --world-sizes 2048", "--world-sizes: 2048 is out of range (1 to 1024)"},
      {"sweep empty world size", {good}, "", nullptr, "sweep {d}/w.json --world-sizes ''", "--world-sizes:  is not a non-negative integer"},
      {"sweep Ulysses degree 0", {good}, "", nullptr, "sweep {d}/w.json --world-sizes 2 --ulysses-degrees 0", "--ulysses-degrees: 0 is out of range"},
      {"sweep negative layers", {good}, "", nullptr, "sweep {d}/w.json --world-sizes 2 --layers -1", "--layers: -1 is not a non-negative integer"},
      {"sweep reserve NaN", {good}, "", nullptr, "sweep {d}/w.json --world-sizes 2 --reserve-gib nan", "--reserve-gib: nan is not a finite number"},
      {"sweep runtime simulated", {good}, "", nullptr, "sweep {d}/w.json --world-sizes 2 --runtime simulated",
       "--runtime: \"simulated\" is not one of pytorch, cpsim, any"},
      {"sweep CSV onto the workload", {good}, "", nullptr, "sweep {d}/w.json --world-sizes 2 --csv {d}/w.json", "w.json: cannot write: it is an input"},
      {"compare runtime unknown", {good}, "", nullptr, "compare {d}/w.json -w 2 --runtime torch", "--runtime: \"torch\" is not one of pytorch, cpsim, any"},
      {"compare export onto a file", {good}, "", nullptr, "compare {d}/w.json -w 2 --export {d}/w.json", "--export: "},
      {"compare export into a FIFO", {good}, "", make_fifo, "compare {d}/w.json -w 2 --export {d}/fifo", "--export: "},
      {"compare explain row 0", {good}, "", nullptr, "compare {d}/w.json -w 2 --explain 0", "--explain: 0 is out of range"},
      {"compare explain past the rows", {good}, "", nullptr, "compare {d}/w.json -w 2 --explain 100000", "--explain: row 100000 does not exist"},
      {"plan runtime unknown", {good}, "", nullptr, "plan {d}/w.json -w 2 -b head_tail -o {d}/p.json --runtime gpu", "--runtime: \"gpu\" is not one of"},
      {"batch runtime unknown", {{"b.jsonl", kGood + "\n"}}, "", nullptr, "batch {d}/b.jsonl -w 2 -o {d}/out --runtime gpu", "--runtime: \"gpu\" is not one of"},
      {"profile with the old node count", {good, {"hw.json", profile_with([](Json& p) { p["node"]["nodes"] = Json{{"value", 2}, {"source", "s"}}; })}}, "",
       nullptr, "compare {d}/w.json -w 2 --hardware {d}/hw.json", "node.nodes: replaced by node.max_nodes"},
      {"profile capped at 0 nodes", {good, {"hw.json", profile_with([](Json& p) { p["node"]["max_nodes"] = Json{{"value", 0}, {"source", "s"}}; })}}, "",
       nullptr, "compare {d}/w.json -w 2 --hardware {d}/hw.json", "node.max_nodes"},
      {"profile capped at 2 nodes without a fabric", {good, {"hw.json", profile_with([](Json& p) {
                                                        p["node"]["max_nodes"] = Json{{"value", 2}, {"source", "s"}};
                                                        p["links"].erase("infiniband");
                                                      })}},
       "", nullptr, "compare {d}/w.json -w 2 --hardware {d}/hw.json", "links.infiniband: missing: node.max_nodes 2 needs an inter-node link"},
      {"world size with no valid neighbour names the nearest", {good}, "", nullptr, "compare {d}/w.json -w 1025", "nearest that work: 16"},
  };
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) names.insert(entry.path().lexically_relative(dir).string());
  return names;
}

TEST_F(CliTest, EveryCatalogueCaseExitsTwoWithOneLineAndWritesNothing) {
  const auto cases = catalogue();
  EXPECT_GE(cases.size(), 100u);
  std::printf("catalogue: %zu hostile cases\n", cases.size());  // quoted in docs/reliability.md
  int n = 0;
  for (const Case& c : cases) {
    const fs::path d = dir_ / ("case" + std::to_string(n++));
    fs::create_directories(d);
    for (const auto& [name, text] : c.files) std::ofstream(d / name) << text;
    if (!c.prepare.empty()) {
      const Outcome ok = run(fill(c.prepare, d.string()));
      ASSERT_EQ(ok.status, 0) << c.name << ": " << ok.err;
    }
    if (c.edit) c.edit(d);
    const auto before = listing(d);
    const Outcome o = run(fill(c.args, d.string()));
    EXPECT_EQ(o.status, 2) << c.name << "\n" << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << c.name << "\n" << o.err;
    EXPECT_EQ(o.err.rfind("cpsim: error: ", 0), 0u) << c.name << "\n" << o.err;
    EXPECT_NE(o.err.find(c.expected), std::string::npos) << c.name << "\nwanted: " << c.expected << "\ngot: " << o.err;
    EXPECT_EQ(listing(d), before) << c.name << ": left files behind";
  }
}

}  // namespace
