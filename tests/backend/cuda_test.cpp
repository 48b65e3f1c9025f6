// GPU tests (CTest label `gpu`): the one-GPU CUDA executor verifies small plans against the fp64 CPU reference,
// and an injected wrong result fails its check. Without a GPU (or CUDA in the build) they skip cleanly.
#include <gtest/gtest.h>

#include "backend/executor.h"
#include "core/plan.h"
#include "core/test_util.h"

namespace cpsim {
namespace {

ExecuteOptions small(RotateMethod rotate) {
  ExecuteOptions o;
  o.rotate = rotate;
  o.q_heads = 4;
  o.kv_heads = 2;
  o.head_dim = 64;
  return o;
}

// The one-GPU executor's measurement of `plan`, or a skip when there is no GPU to run it on.
#define RUN_ON_GPU(result, plan, options, faults)                                                                           \
  auto executor_##result = choose_executor("cuda", faults);                                                                 \
  if (!executor_##result.ok()) GTEST_SKIP() << executor_##result.error().message;                                           \
  auto result = (*executor_##result)->execute(plan, "t.json", options);                                                     \
  if (!result.ok() && result.error().message.find("no GPU") != std::string::npos) GTEST_SKIP() << result.error().message; \
  ASSERT_TRUE(result.ok()) << result.error().message;                                                                       \
  ASSERT_TRUE(result->has_value())

TEST(CudaExecutor, VerifiesEveryBalancerAndRotateMethod) {
  for (const MaskKind kind : {MaskKind::kCausal, MaskKind::kDocumentCausal, MaskKind::kDocumentSlidingWindow}) {
    const Workload w = testing::make_workload(2048, kind, {{256, 512, 128, 1152}}, 300);
    for (const auto& balancer : balancer_registry()) {
      auto plan = make_plan(w, "t.json", balancer->name(), 4, 128);
      ASSERT_TRUE(plan.ok()) << plan.error().message;
      for (const RotateMethod rotate : {RotateMethod::kAllGather, RotateMethod::kAllToAll}) {
        RUN_ON_GPU(m, *plan, small(rotate), Faults{});
        const Measurement& got = **m;
        EXPECT_TRUE(got.verified) << mask_kind_name(kind) << " " << balancer->name() << " " << rotate_name(rotate)
                                  << ": max abs error " << got.max_abs_error;
        EXPECT_EQ(got.device_kind, DeviceKind::kGpu);
      }
    }
  }
}

TEST(CudaExecutor, AnInjectedWrongOutputFailsItsCheck) {
  const Workload w = testing::make_workload(2048, MaskKind::kDocumentCausal, {{256, 512, 128, 1152}});
  const Plan plan = make_plan(w, "t.json", "ptrr", 4, 128).value();
  Faults faults;
  faults.corrupt_output = true;
  RUN_ON_GPU(m, plan, small(RotateMethod::kAllToAll), faults);
  EXPECT_FALSE((*m)->verified) << "max abs error " << (*m)->max_abs_error << ", tolerance " << (*m)->tolerance;
}

}  // namespace
}  // namespace cpsim
