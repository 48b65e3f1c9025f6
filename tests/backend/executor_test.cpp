// The CPU executor verifies every (balancer, rotate method or sparse exchange, mask kind) combination,
// forward and backward, against the fp64 reference; the LSE merge matches PyTorch's; failed and stalled ranks
// end the run with an error naming them; injected wrong results fail the check. The GPU executors' check (bf16
// inputs, sampled positions) is exercised here on CPU results.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "backend/attention_math.h"
#include "backend/executor.h"
#include "backend/thread_communicator.h"
#include "backend/verify.h"
#include "core/plan.h"
#include "core/test_util.h"

namespace cpsim {
namespace {

TEST(LseMerge, GoldenVector15) {
  PartialAttention acc{{1.0f}, {0.0f}};
  merge_into(acc, PartialAttention{{3.0f}, {0.0f}}, 1);
  EXPECT_NEAR(acc.out[0], 2.0f, 1e-6);
  EXPECT_NEAR(acc.lse[0], 0.693147f, 1e-6);
  PartialAttention b{{2.0f}, {1.0f}};
  merge_into(b, PartialAttention{{-1.0f}, {0.0f}}, 1);
  EXPECT_NEAR(b.out[0], 1.1931757f, 1e-6);
  EXPECT_NEAR(b.lse[0], 1.3132617f, 1e-6);
  // A block that saw nothing changes nothing; the first real block initialises.
  PartialAttention empty{{0.0f}, {-std::numeric_limits<float>::infinity()}};
  merge_into(empty, PartialAttention{{5.0f}, {2.0f}}, 1);
  EXPECT_EQ(empty.out[0], 5.0f);
  EXPECT_EQ(empty.lse[0], 2.0f);
  merge_into(empty, PartialAttention{{9.0f}, {-std::numeric_limits<float>::infinity()}}, 1);
  EXPECT_EQ(empty.out[0], 5.0f);
}

ExecuteOptions small_options(const std::string& rotate) {
  ExecuteOptions o;
  o.rotate = parse_rotate(rotate);
  o.q_heads = 2;
  o.kv_heads = 1;
  o.head_dim = 16;
  o.timeout_s = 20;
  return o;
}

// The executor "cpu" picks outside mpirun: threads.
Result<Measurement> execute_with_threads(const Plan& plan, const ExecuteOptions& o, const Faults& faults = {}) {
  CPSIM_ASSIGN_OR_RETURN(auto executor, choose_executor("cpu", faults));
  EXPECT_EQ(executor->name(), "cpu");
  CPSIM_ASSIGN_OR_RETURN(auto m, executor->execute(plan, "t.json", o));
  EXPECT_TRUE(m.has_value());
  return std::move(*m);
}

// The plan with the sparse gather recorded as its strategy.
Plan with_sparse_gather(Plan p) {
  Strategy s;
  s.balancer = p.balancer;
  s.path = AttentionPath::kSparseGather;
  s.gather_stages = 1;
  p.strategy = s;
  return p;
}

TEST(CpuExecutor, EveryBalancerRotateAndMaskKindVerifiesForwardAndBackward) {
  int verified = 0;
  double worst_gradient_error = 0;
  for (const MaskKind kind : all_mask_kinds()) {
    // Two rows, documents that are multiples of 2W = 8 so every balancer applies; T = 32 for ptrr.
    const Workload w = testing::make_workload(256, kind, {{40, 96, 8, 112}, {128, 64, 64}}, /*window=*/24, /*prefix=*/72);
    for (const auto& balancer : balancer_registry()) {
      auto plan = make_plan(w, "t.json", balancer->name(), 4, 32);
      ASSERT_TRUE(plan.ok()) << plan.error().message;
      for (const char* rotate : {"allgather", "alltoall", "sparse_gather"}) {
        // sparse_gather: the plan's path, run with the all-gather rotate method: the sparse exchange.
        const bool sparse = std::string(rotate) == "sparse_gather";
        const Plan p = sparse ? with_sparse_gather(*plan) : *plan;
        ExecuteOptions o = small_options(sparse ? "allgather" : rotate);
        o.backward = true;
        auto m = execute_with_threads(p, o);
        ASSERT_TRUE(m.ok()) << m.error().message;
        const std::string what = std::string(mask_kind_name(kind)) + " " + std::string(balancer->name()) + " " + rotate;
        EXPECT_TRUE(m->verified) << what << ": error " << m->max_abs_error;
        EXPECT_LE(m->max_abs_error, 1e-5);
        EXPECT_EQ(m->steps.size(), 16u);
        ASSERT_TRUE(m->backward.ran);
        EXPECT_TRUE(m->backward.verified) << what << ": gradient error " << m->backward.max_abs_error << " (tolerance "
                                          << m->backward.tolerance << ")";
        EXPECT_EQ(m->backward.steps.size(), 16u);
        EXPECT_EQ(m->strategy.path == AttentionPath::kSparseGather, sparse) << what;
        worst_gradient_error = std::max(worst_gradient_error, m->backward.max_abs_error);
        ++verified;
      }
    }
  }
  EXPECT_EQ(verified, 7 * static_cast<int>(balancer_registry().size()) * 3);
  std::cout << "largest dQ/dK/dV error against the fp64 reference: " << worst_gradient_error << "\n";
}

TEST(CpuExecutor, AWrongGradientFailsTheBackwardCheck) {
  const Workload w = testing::make_workload(128, MaskKind::kDocumentCausal, {{48, 80}});
  auto plan = make_plan(w, "t.json", "head_tail", 4, 16);
  ASSERT_TRUE(plan.ok());
  for (const char* rotate : {"allgather", "alltoall"}) {
    ExecuteOptions o = small_options(rotate);
    o.backward = true;
    auto good = execute_with_threads(*plan, o);
    ASSERT_TRUE(good.ok());
    EXPECT_TRUE(good->backward.verified) << rotate;
    Faults wrong_dk;
    wrong_dk.corrupt_gradient = true;
    auto bad = execute_with_threads(*plan, o, wrong_dk);
    ASSERT_TRUE(bad.ok());
    EXPECT_TRUE(bad->verified) << rotate;  // the forward is still right
    EXPECT_FALSE(bad->backward.verified) << rotate;
    EXPECT_GE(bad->backward.max_abs_error, 5e-3) << rotate;
  }
}

// Runs every rank of a plan on threads and returns their raw results.
std::vector<RankRun> run_ranks(const Plan& plan, const RankOptions& options) {
  ThreadFabric fabric(plan.world_size, 20);
  std::vector<RankRun> runs(static_cast<std::size_t>(plan.world_size));
  std::vector<std::thread> threads;
  for (std::int64_t r = 0; r < plan.world_size; ++r) {
    threads.emplace_back([&, r] {
      ThreadCommunicator comm(fabric, r);
      auto run = run_rank(plan, options, comm);
      ASSERT_TRUE(run.ok());
      runs[static_cast<std::size_t>(r)] = std::move(*run);
    });
  }
  for (auto& t : threads) t.join();
  return runs;
}

TEST(CpuExecutor, AWrongResultFailsVerification) {
  // Run plan A, then check its output against plan B, whose documents differ: the check must notice.
  const Workload a = testing::make_workload(64, MaskKind::kDocumentCausal, {{16, 48}});
  const Workload b = testing::make_workload(64, MaskKind::kDocumentCausal, {{32, 32}});
  auto plan_a = make_plan(a, "a.json", "head_tail", 2, 16);
  auto plan_b = make_plan(b, "b.json", "head_tail", 2, 16);
  ASSERT_TRUE(plan_a.ok() && plan_b.ok());
  auto options = rank_options(*plan_a, "a.json", small_options("alltoall"), true);
  ASSERT_TRUE(options.ok());
  const std::vector<RankRun> runs = run_ranks(*plan_a, *options);
  EXPECT_TRUE(verify_against_reference(*plan_a, *options, runs).output.passed);
  const Verification wrong = verify_against_reference(*plan_b, *options, runs).output;
  EXPECT_FALSE(wrong.passed);
  EXPECT_GT(wrong.max_abs_error, 1e-3);
}

TEST(CpuExecutor, AFailedRankIsNamed) {
  const Workload w = testing::make_workload(128, MaskKind::kCausal, {{128}});
  auto plan = make_plan(w, "t.json", "head_tail", 4, 16);
  ASSERT_TRUE(plan.ok());
  Faults faults;
  faults.failing_rank = 1;
  auto m = execute_with_threads(*plan, small_options("alltoall"), faults);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kExecutionFailed);
  EXPECT_NE(m.error().message.find("rank 1 failed"), std::string::npos) << m.error().message;
}

TEST(CpuExecutor, AStalledRankTimesOutAndIsNamed) {
  const Workload w = testing::make_workload(128, MaskKind::kCausal, {{128}});
  auto plan = make_plan(w, "t.json", "contiguous", 4, 16);
  ASSERT_TRUE(plan.ok());
  for (const char* rotate : {"alltoall", "allgather", "sparse_gather"}) {
    const bool sparse = std::string(rotate) == "sparse_gather";
    const Plan p = sparse ? with_sparse_gather(*plan) : *plan;
    ExecuteOptions o = small_options(sparse ? "allgather" : rotate);
    o.timeout_s = 1.0;
    Faults faults;
    faults.stalled_rank = 2;
    faults.stall_ms = 2500;
    const auto start = std::chrono::steady_clock::now();
    auto m = execute_with_threads(p, o, faults);
    ASSERT_FALSE(m.ok());
    const std::string& why = m.error().message;
    EXPECT_EQ(why.rfind("rank 2 stopped before sending any K/V (failed or hangs)", 0), 0u) << why;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
  }
}

TEST(CpuExecutor, AnInjectedWrongOutputFailsItsCheck) {
  const Workload w = testing::make_workload(128, MaskKind::kDocumentCausal, {{48, 80}});
  auto plan = make_plan(w, "t.json", "ptrr", 4, 16);
  ASSERT_TRUE(plan.ok());
  auto good = execute_with_threads(*plan, small_options("alltoall"));
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->verified);
  Faults faults;
  faults.corrupt_output = true;
  auto bad = execute_with_threads(*plan, small_options("alltoall"), faults);
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->verified);
  EXPECT_NEAR(bad->max_abs_error, 1e-3, 2e-4);
}

TEST(Faults, FromTheEnvironment) {
  ::setenv("CPSIM_FAULTS", "corrupt-output,stall-rank=2:150,fail-rank=3", 1);
  auto f = faults_from_environment();
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_TRUE(f->corrupt_output);
  EXPECT_FALSE(f->corrupt_gradient);
  EXPECT_EQ(f->stalled_rank, 2);
  EXPECT_EQ(f->stall_ms, 150);
  EXPECT_EQ(f->failing_rank, 3);
  ::setenv("CPSIM_FAULTS", "corrupt-everything", 1);
  auto bad = faults_from_environment();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("CPSIM_FAULTS: \"corrupt-everything\" is not a fault"), std::string::npos) << bad.error().message;
  ::setenv("CPSIM_FAULTS", "stall-rank=1", 1);
  EXPECT_FALSE(faults_from_environment().ok());
  ::unsetenv("CPSIM_FAULTS");
  auto none = faults_from_environment();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->corrupt_output);
  EXPECT_EQ(none->failing_rank, -1);
}

TEST(Executor, ChoosesByDeviceAndSaysWhatTheBuildLacks) {
  auto cpu = choose_executor("cpu");
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ((*cpu)->name(), "cpu");
  auto tpu = choose_executor("tpu");
  ASSERT_FALSE(tpu.ok());
  EXPECT_NE(tpu.error().message.find("--device: unknown device \"tpu\""), std::string::npos);
  auto cuda = choose_executor("cuda");  // made in a CUDA build, refused with the reason in one without
  if (cuda.ok()) {
    EXPECT_EQ((*cuda)->name(), "cuda");
  } else {
    EXPECT_NE(cuda.error().message.find("built without CUDA"), std::string::npos) << cuda.error().message;
  }
}

TEST(ExecutedStrategy, OverridesMoveToAPathThatTakesTheRotateMethod) {
  const Workload w = testing::make_workload(128, MaskKind::kCausal, {{128}});
  Plan plan = make_plan(w, "t.json", "head_tail", 4, 16).value();
  EXPECT_FALSE(executed_strategy(plan, std::nullopt, true).ok());  // no strategy, no --rotate
  EXPECT_EQ(executed_strategy(plan, RotateMethod::kAllToAll, true)->path, AttentionPath::kSparseRing);
  Strategy flex;
  flex.balancer = "head_tail";
  plan.strategy = flex;
  EXPECT_EQ(executed_strategy(plan, std::nullopt, true)->path, AttentionPath::kFlexAllgather);
  const Strategy to_ring = executed_strategy(plan, RotateMethod::kAllToAll, true).value();
  EXPECT_EQ(to_ring.path, AttentionPath::kSparseRing);
  EXPECT_EQ(to_ring.rotate, RotateMethod::kAllToAll);
  Strategy sdpa = flex;
  sdpa.path = AttentionPath::kSdpaRing;
  plan.strategy = sdpa;
  EXPECT_EQ(executed_strategy(plan, RotateMethod::kAllToAll, true)->path, AttentionPath::kSdpaRing);  // takes both
  plan = with_sparse_gather(plan);
  EXPECT_EQ(executed_strategy(plan, std::nullopt, true)->path, AttentionPath::kSparseGather);
  EXPECT_EQ(executed_strategy(plan, std::nullopt, false)->path, AttentionPath::kFlexAllgather);  // no sparse exchange
}

// The GPU executors' check, run on CPU results: fp64 reference from bf16-rounded inputs, PyTorch's bf16
// tolerance, and sampled positions on rows too long to check whole.
TEST(GpuCheck, SampledPositionsCoverEveryRankAndMatchTheWholeReference) {
  const Workload w = testing::make_workload(4096, MaskKind::kDocumentCausal, {{1000, 2000, 1096}});
  const Plan plan = make_plan(w, "t.json", "head_tail", 4, 64).value();
  AttentionShape shape;
  shape.seq_len = 4096;
  shape.q_heads = 2;
  shape.kv_heads = 1;
  shape.head_dim = 16;
  EXPECT_EQ(checked_positions(plan, 0, shape, 0).size(), 4096u);  // no budget: every position
  const std::vector<std::int64_t> sample = checked_positions(plan, 0, shape, 1e6);
  EXPECT_LT(sample.size(), 200u);
  EXPECT_GE(sample.size(), 8u);
  EXPECT_TRUE(std::is_sorted(sample.begin(), sample.end()));
  const RowLayout& layout = plan.layouts[0];
  for (std::int64_t r = 0; r < 4; ++r) {  // every rank's first and last slot are among them
    for (const std::int64_t slot : {r * 1024, r * 1024 + 1023}) {
      EXPECT_TRUE(std::binary_search(sample.begin(), sample.end(), layout.rearrange()[static_cast<std::size_t>(slot)])) << slot;
    }
  }
  const RowMask mask(w.mask, w.seq_len, w.documents[0]);
  const ReferenceAttention whole = reference_attention(shape, mask, 0, 1);
  const ReferenceAttention some = reference_attention_at(shape, mask, 0, 1, sample, InputPrecision::kFp32);
  const auto width = static_cast<std::size_t>(shape.q_heads * shape.head_dim);
  for (std::size_t i = 0; i < sample.size(); ++i) {
    for (std::size_t x = 0; x < width; ++x) {
      EXPECT_EQ(some.out[i * width + x], whole.out[static_cast<std::size_t>(sample[i]) * width + x]);
    }
  }
}

TEST(GpuCheck, PassesRightResultsAndFailsAWrongOne) {
  const Workload w = testing::make_workload(512, MaskKind::kDocumentSlidingWindow, {{200, 312}}, 96);
  const Plan plan = make_plan(w, "t.json", "ptrr", 4, 32).value();
  const RankOptions options = rank_options(plan, "t.json", small_options("allgather"), true).value();
  ReferenceCheck check = gpu_reference_check(plan.world_size);
  EXPECT_EQ(check.inputs, InputPrecision::kBf16);
  EXPECT_DOUBLE_EQ(check.output_tolerance, 8e-3 * 4);
  check.max_reference_macs = 1e5;  // force sampling on this small row
  const RunIdentity who{"cuda", DeviceKind::kGpu, "test", ""};
  // fp32 CPU results against the bf16-input reference: off by bf16's rounding of the inputs, within tolerance.
  const Measurement right = finish_run(plan, "t.json", options, run_ranks(plan, options), {}, check, who);
  EXPECT_TRUE(right.verified) << right.max_abs_error;
  EXPECT_GT(right.max_abs_error, 1e-5);  // the reference really was made from bf16 inputs
  EXPECT_EQ(right.device_kind, DeviceKind::kGpu);
  EXPECT_EQ(right.executor, "cuda");
  std::vector<RankRun> runs = run_ranks(plan, options);
  runs[0].rows[0].out[0] += 0.5f;  // rank 0's first slot is always checked
  EXPECT_FALSE(finish_run(plan, "t.json", options, runs, {}, check, who).verified);
  // The injected fault is twice the check's tolerance, so it trips the GPU check as it does the CPU's.
  Faults faults;
  faults.corrupt_output = true;
  const Measurement injected = finish_run(plan, "t.json", options, run_ranks(plan, options), faults, check, who);
  EXPECT_FALSE(injected.verified);
  EXPECT_GE(injected.max_abs_error, 2 * check.output_tolerance - right.max_abs_error);
}

}  // namespace
}  // namespace cpsim
