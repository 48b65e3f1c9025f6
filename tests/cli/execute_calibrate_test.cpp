// Tests of execute's run-time estimate and progress, and calibrate's diagnostics, through the real binary. None
// depends on timing: estimates are printed, not measured, and the measurements calibrate fits have their times
// written in by the test.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"

namespace cpsim::testing {
namespace {

using Json = nlohmann::json;

Json read_json(const std::string& path) {
  std::ifstream in(path);
  return Json::parse(in);
}

class ExecuteCalibrateTest : public CliTest {
 protected:
  // A plan that runs in a fraction of a second: 1,024 tokens of documents, 2 q heads, head dim 16, W = 2.
  std::string small_plan() {
    const std::string w = path("small.json"), p = path("small-plan.json");
    EXPECT_EQ(run("generate --seq-len 1024 --dist lognormal --mean 128 --sigma 1.1 --min-len 16 --multiple-of 16 --seed 7 --mask document_causal "
                  "--q-heads 2 --kv-heads 1 --head-dim 16 --out " + w).status, 0);
    EXPECT_EQ(run("plan " + w + " -w 2 -b head_tail -r alltoall --hardware cpu-threads -o " + p).status, 0);
    return p;
  }

  // 65,536 causal tokens at 32 q heads and head dim 128 on 8 ranks: its fp64 reference alone is 2.2e9 pairs x 4,096,
  // hours of one core, so that the estimate passes 10 s on any machine up to a thousand cores.
  std::string full_shape_plan() {
    const std::string w = path("long.json"), p = path("long-plan.json");
    EXPECT_EQ(run("generate --seq-len 65536 --dist fixed --length 65536 --mask causal --q-heads 32 --kv-heads 8 --head-dim 128 --out " + w).status, 0);
    EXPECT_EQ(run("plan " + w + " -w 8 -b head_tail -r alltoall -o " + p).status, 0);
    return p;
  }

  // A real run's MEASURED.json with the times replaced: each step's compute by the plan's predicted compute plus
  // `extra_us`, no communication. On `kernel` (the run's own "cpu", or another of the starting profile's kernels,
  // the measurement then said to come from a GPU). Only the first `keep` steps when given.
  std::string synthetic_measurement(const std::string& plan, const std::string& name, double extra_us, const std::string& kernel = "cpu",
                                    std::size_t keep = 0) {
    const std::string m = path(name);
    EXPECT_EQ(run("execute " + plan + " -o " + m).status, 0);
    Json doc = read_json(m);
    const Json& predicted = doc["predicted"]["forward_compute_us"];
    Json steps = Json::array();
    for (Json s : doc["steps"]) {
      const double p = predicted[s["rank"].get<std::size_t>()][s["step"].get<std::size_t>()].get<double>();
      s["compute_us"] = p > 0 ? p + extra_us : 0.0;
      s["comm_us"] = 0.0;
      s["comm_bytes"] = 0.0;
      if (keep == 0 || (steps.size() < keep && p > 0)) steps.push_back(s);
    }
    doc["steps"] = steps;
    if (kernel != "cpu") {
      doc["device_kind"] = "gpu";
      doc["strategy"]["kernel"] = kernel;
      std::string text = doc["strategy"]["text"];
      text.replace(text.find(" on cpu"), 7, " on " + kernel);
      doc["strategy"]["text"] = text;
    }
    std::ofstream(m) << doc.dump();
    return m;
  }
};

TEST_F(ExecuteCalibrateTest, EstimatePrintsTheRunTimeAndRunsNothing) {
  const std::string p = full_shape_plan();
  const Outcome o = run("execute " + p + " --estimate -o " + path("m.json"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(o.out.rfind("estimated run time: about ", 0), 0u) << o.out;
  EXPECT_NE(o.out.find(" on this machine ("), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(" cores): 8 ranks x 32 q heads x head dim 128; the fp64 reference is "), std::string::npos) << o.out;
  // Beyond 10 s: said, with the shape that checks the same plan quicker and its own estimate.
  EXPECT_NE(o.out.find("\nthat is long for a check: --q-heads 4 --kv-heads 2 --head-dim 32 runs the same plan (layout, steps, verification) in "),
            std::string::npos)
      << o.out;
  EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 2) << o.out;
  EXPECT_FALSE(fs::exists(path("m.json")));  // nothing ran, nothing written
  const Outcome backward = run("execute " + p + " --estimate --backward");
  ASSERT_EQ(backward.status, 0) << backward.err;
  EXPECT_NE(backward.out.find("x head dim 128, forward and backward; the fp64 reference is "), std::string::npos) << backward.out;
  // At the suggested shape the estimate says so.
  const Outcome smaller = run("execute " + p + " --estimate --q-heads 4 --kv-heads 2 --head-dim 32");
  ASSERT_EQ(smaller.status, 0) << smaller.err;
  EXPECT_NE(smaller.out.find(": 8 ranks x 4 q heads x head dim 32; "), std::string::npos) << smaller.out;
  // A plan of a fraction of a second: no note.
  const Outcome quick = run("execute " + small_plan() + " --estimate");
  ASSERT_EQ(quick.status, 0) << quick.err;
  EXPECT_NE(quick.out.find("estimated run time: "), std::string::npos) << quick.out;
  EXPECT_EQ(quick.out.find("that is long"), std::string::npos) << quick.out;
}

TEST_F(ExecuteCalibrateTest, ARunPrintsItsEstimateFirstAndNoProgressWhereNoTerminalWatches) {
  const std::string p = small_plan();
  const Outcome o = run("execute " + p);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out.rfind("estimated run time: ", 0), 0u) << o.out;
  EXPECT_NE(o.out.find("PASSED"), std::string::npos) << o.out;
  EXPECT_EQ(o.err, "");  // stderr is a file here: no progress text
  // A parent process that asks (the GUI) gets plain lines, never a terminal's carriage returns or escapes.
  const Outcome asked = run("execute " + p + " --progress");
  ASSERT_EQ(asked.status, 0) << asked.err;
  EXPECT_NE(asked.err.find("(rank, step) done"), std::string::npos) << asked.err;
  EXPECT_NE(asked.err.find("; checking against the reference...\n"), std::string::npos) << asked.err;
  EXPECT_EQ(asked.err.find('\r'), std::string::npos) << asked.err;
  EXPECT_EQ(asked.err.find('\x1b'), std::string::npos) << asked.err;
}

TEST_F(ExecuteCalibrateTest, AWorkloadOrAMeasurementGivenForAPlanIsNamedWithTheCommandThatMakesOne) {
  const std::string w = path("small.json");
  const std::string p = small_plan();
  expect_bad_input("execute " + w, w + " is a workload, not a plan: make one with cpsim plan " + w + " -w W -b BALANCER -o plan.json");
  ASSERT_EQ(run("execute " + p + " -o " + path("m.json")).status, 0);
  expect_bad_input("execute " + path("m.json"), "m.json is a measurement (what cpsim execute writes), not a plan: execute the plan it came from, ");
  expect_bad_input("calibrate " + p + " --hardware cpu-threads -o " + path("fit.json"),
                   p + " is a plan, not a measurement: make one with cpsim execute " + p + " -o measured.json");
  expect_bad_input("calibrate " + w + " --hardware cpu-threads -o " + path("fit.json"), w + " is a workload, not a measurement: plan it with cpsim plan ");
  expect_bad_input("execute " + p + " --device cuda --estimate", "--estimate: estimates the CPU executor's run time (--device cpu)");
}

// Two samples for the four unknowns of the CPU kernel: warned, written anyway; refused with --strict.
TEST_F(ExecuteCalibrateTest, CalibrateWarnsOfTooFewSamplesAndStrictRefuses) {
  const std::string m = synthetic_measurement(small_plan(), "few.json", 0, "cpu", 2);
  ASSERT_EQ(read_json(m)["steps"].size(), 2u);
  const Outcome o = run("calibrate " + m + " --hardware cpu-threads -o " + path("fit.json"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("\nfit diagnostics\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("too few samples: cpu forward (2 samples for "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("measure more plans (each (rank, step) of a run is a sample)"), std::string::npos) << o.out;
  EXPECT_NE(o.err.find("cpsim: warning: the fit has "), std::string::npos) << o.err;
  EXPECT_TRUE(fs::exists(path("fit.json")));
  expect_bad_input("calibrate " + m + " --hardware cpu-threads --strict -o " + path("strict.json"),
                   "few.json: kernels.cpu.forward: 2 samples for ");
  EXPECT_FALSE(fs::exists(path("strict.json")));
}

// Times 120 us above what the profile predicts for flex (its launch is 3 us): the fit lands constants far from
// their start and says which; the diagnostics give the group's conditioning; --strict writes nothing.
TEST_F(ExecuteCalibrateTest, CalibrateWarnsOfConstantsFarFromTheStartAndReportsConditioning) {
  const std::string w = path("w8.json"), p = path("p8.json");
  ASSERT_EQ(run("generate --seq-len 8192 --dist lognormal --mean 512 --sigma 1.1 --min-len 16 --multiple-of 16 --seed 7 --mask document_causal "
                "--q-heads 2 --kv-heads 1 --head-dim 16 --out " + w).status, 0);
  ASSERT_EQ(run("plan " + w + " -w 8 -b ptrr -r alltoall -p sparse_ring -o " + p).status, 0);  // predicted on h100-sxm-8x's flex
  const std::string m = synthetic_measurement(p, "slow.json", 120, "flex");
  const Outcome o = run("calibrate " + m + " --hardware h100-sxm-8x -o " + path("fit.json"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("x above its starting "), std::string::npos) << o.out;
  // The group's row: 64 samples for 4 unknowns and a finite condition number.
  const std::string table = o.out.substr(o.out.find("\nfit diagnostics\n"));
  EXPECT_NE(table.find("condition"), std::string::npos) << table;
  const auto row = table.find("\nflex forward ");
  ASSERT_NE(row, std::string::npos) << table;
  std::istringstream cells(table.substr(row + 13));
  std::string samples, unknowns;
  double condition = 0;
  cells >> samples >> unknowns >> condition;
  EXPECT_EQ(samples, "64");
  EXPECT_EQ(unknowns, "4");
  EXPECT_GT(condition, 1.0) << table;
  expect_bad_input("calibrate " + m + " --hardware h100-sxm-8x --strict -o " + path("strict.json"), "slow.json: kernels.flex.forward.");
  EXPECT_FALSE(fs::exists(path("strict.json")));
}

}  // namespace
}  // namespace cpsim::testing
