// One GPU per MPI process: which device each process drives, and the refusal of two ranks on one GPU.
#include "backend/gpu_placement.h"

#include <gtest/gtest.h>

namespace cpsim {
namespace {

TEST(GpuPlacement, EachProcessOnAMachineTakesTheGpuOfItsLocalIndex) {
  for (int local = 0; local < 8; ++local) EXPECT_EQ(gpu_for_process(local, 8), local);
  // A launcher that shows each process only its own GPU: every process drives its device 0.
  for (int local = 0; local < 8; ++local) EXPECT_EQ(gpu_for_process(local, 1), 0);
}

TEST(GpuPlacement, TwoRanksOnOneGpuAreRefusedNamingThem) {
  EXPECT_TRUE(check_one_gpu_per_rank({"H100 aa", "H100 bb", "H100 cc"}).ok());
  // Two nodes of 2 GPUs each with distinct UUIDs: fine.
  EXPECT_TRUE(check_one_gpu_per_rank({"H100 n0g0", "H100 n0g1", "H100 n1g0", "H100 n1g1"}).ok());
  // Four processes on a machine with two GPUs: local ranks 2 and 3 wrap onto GPUs 0 and 1.
  const std::vector<std::string> uuids = {"H100 g0", "H100 g1", "H100 g0", "H100 g1"};
  std::vector<std::string> chosen;
  for (int local = 0; local < 4; ++local) chosen.push_back(uuids[static_cast<std::size_t>(gpu_for_process(local, 2))]);
  const Status s = check_one_gpu_per_rank(chosen);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kBadInput);
  EXPECT_NE(s.error().message.find("ranks 0 and 2 would both drive GPU H100 g0"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace cpsim
