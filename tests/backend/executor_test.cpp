// The CPU executor verifies every (balancer, rotate method or sparse exchange, mask kind) combination,
// forward and backward, against the fp64 reference; the LSE merge matches PyTorch's; failed and stalled ranks end the run with an error naming them.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "backend/attention_math.h"
#include "backend/executor.h"
#include "backend/thread_communicator.h"
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
  o.rotate = rotate;
  o.q_heads = 2;
  o.kv_heads = 1;
  o.head_dim = 16;
  o.timeout_s = 20;
  return o;
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
        Plan p = *plan;
        if (sparse) p.attention_path = "sparse_gather";
        ExecuteOptions o = small_options(sparse ? "allgather" : rotate);
        o.backward = true;
        auto m = execute_with_threads(p, "t.json", o);
        ASSERT_TRUE(m.ok()) << m.error().message;
        const std::string what = std::string(mask_kind_name(kind)) + " " + std::string(balancer->name()) + " " + rotate;
        EXPECT_TRUE(m->verified) << what << ": error " << m->max_abs_error;
        EXPECT_LE(m->max_abs_error, 1e-5);
        EXPECT_EQ(m->steps.size(), 16u);
        ASSERT_TRUE(m->backward.ran);
        EXPECT_TRUE(m->backward.verified) << what << ": gradient error " << m->backward.max_abs_error << " (tolerance "
                                          << m->backward.tolerance << ")";
        EXPECT_EQ(m->backward.steps.size(), 16u);
        EXPECT_EQ(m->attention_path == "sparse_gather", sparse) << what;
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
    auto good = execute_with_threads(*plan, "t.json", o);
    ASSERT_TRUE(good.ok());
    EXPECT_TRUE(good->backward.verified) << rotate;
    o.perturb_gradient = true;
    auto bad = execute_with_threads(*plan, "t.json", o);
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
  auto options = rank_options(*plan_a, small_options("alltoall"));
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
  ExecuteOptions o = small_options("alltoall");
  o.stall_rank = 1;
  o.stall_ms = -1;
  auto m = execute_with_threads(*plan, "t.json", o);
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
    Plan p = *plan;
    if (sparse) p.attention_path = "sparse_gather";
    ExecuteOptions o = small_options(sparse ? "allgather" : rotate);
    o.timeout_s = 1.0;
    o.stall_rank = 2;
    o.stall_ms = 2500;
    const auto start = std::chrono::steady_clock::now();
    auto m = execute_with_threads(p, "t.json", o);
    ASSERT_FALSE(m.ok());
    const std::string& why = m.error().message;
    EXPECT_EQ(why.rfind("rank 2 stopped before sending any K/V (failed or hangs)", 0), 0u) << why;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
  }
}

}  // namespace
}  // namespace cpsim
