// GPU tests (CTest label `gpu`): the CUDA executor verifies small plans against its GPU reference.
// Without a GPU they skip cleanly.
#include <gtest/gtest.h>

#include "backend/mpi_executor.h"
#include "core/plan.h"
#include "core/test_util.h"

namespace cpsim {
namespace {

TEST(CudaExecutor, VerifiesEveryBalancerAndRotateMethod) {
  const Workload probe = testing::make_workload(1024, MaskKind::kCausal, {{1024}});
  auto probe_plan = make_plan(probe, "t.json", "contiguous", 1, 128);
  ASSERT_TRUE(probe_plan.ok());
  ExecuteOptions o;
  o.rotate = "alltoall";
  o.q_heads = 4;
  o.kv_heads = 2;
  o.head_dim = 64;
  auto first = execute_on_cuda(*probe_plan, "t.json", o);
  if (!first.ok() && first.error().message.find("no GPU") != std::string::npos) GTEST_SKIP() << first.error().message;
  if (!first.ok() && first.error().message.find("built without CUDA") != std::string::npos) GTEST_SKIP() << first.error().message;
  ASSERT_TRUE(first.ok()) << first.error().message;
  for (const MaskKind kind : {MaskKind::kCausal, MaskKind::kDocumentCausal, MaskKind::kDocumentSlidingWindow}) {
    const Workload w = testing::make_workload(2048, kind, {{256, 512, 128, 1152}}, 300);
    for (const auto& balancer : balancer_registry()) {
      auto plan = make_plan(w, "t.json", balancer->name(), 4, 128);
      ASSERT_TRUE(plan.ok()) << plan.error().message;
      for (const char* rotate : {"allgather", "alltoall"}) {
        o.rotate = rotate;
        auto m = execute_on_cuda(*plan, "t.json", o);
        ASSERT_TRUE(m.ok()) << m.error().message;
        EXPECT_TRUE(m->verified) << mask_kind_name(kind) << " " << balancer->name() << " " << rotate << ": max abs error " << m->max_abs_error;
      }
    }
  }
}

}  // namespace
}  // namespace cpsim
