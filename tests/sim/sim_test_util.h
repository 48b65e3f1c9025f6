// Helpers for the simulator tests: shipped profiles and small plans.
#pragma once

#include <gtest/gtest.h>

#include "core/plan.h"
#include "core/strategy.h"
#include "core/test_util.h"
#include "sim/hardware.h"

namespace cpsim::testing {

inline HardwareProfile shipped_profile(const std::string& name) {
  auto p = load_hardware_profile(std::string(CPSIM_SOURCE_DIR) + "/data/hardware/" + name + ".json");
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return std::move(p).value();
}

inline Plan plan_for(const Workload& w, const std::string& balancer, std::int64_t world, std::int64_t tile = 128) {
  auto plan = make_plan(w, "test.json", balancer, world, tile);
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message);
  return std::move(plan).value();
}

// A strategy for `plan`'s balancer (a sparse gather's stage count left to the simulator unless given).
inline Strategy strategy_for(const Plan& plan, AttentionPath path, RotateMethod rotate, std::int64_t ulysses = 1, std::int64_t stages = 0) {
  Strategy s;
  s.balancer = plan.balancer;
  s.path = path;
  s.rotate = rotate;
  s.ulysses = ulysses;
  s.gather_stages = stages;
  return s;
}

inline Workload causal_workload(std::int64_t s) {
  Workload w = make_workload(s, MaskKind::kCausal, {{s}});
  return w;
}

}  // namespace cpsim::testing
