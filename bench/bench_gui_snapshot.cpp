// How fast the GUI's views can follow a change on the shipped 131,072-token workload (target: 200 ms):
// a full replan (compare every combination, plan and simulate the winner, rasterise its mask both ways)
// and a change of the selected plan. Runs the same code as the GUI's background job.
#include <benchmark/benchmark.h>

#include <iostream>

#include "core/allocator.h"
#include "core/workload_json.h"
#include "gui/app/planner.h"

namespace {

cpsim::gui::PlannerInputs inputs() {
  auto w = cpsim::load_workload(std::string(CPSIM_SOURCE_DIR) + "/data/workloads/doc-lognormal-128k.json");
  if (!w) {
    std::cerr << w.error().message << "\n";
    std::exit(2);
  }
  cpsim::gui::PlannerInputs in;
  in.workload = *w;
  in.source = "doc-lognormal-128k.json";
  in.world_size = 8;
  in.hardware = std::string(CPSIM_SOURCE_DIR) + "/data/hardware/h100-sxm-8x.json";
  return in;
}

void BM_Replan128k(benchmark::State& state) {
  const auto in = inputs();
  for (auto _ : state) benchmark::DoNotOptimize(cpsim::gui::plan_snapshot(in, std::nullopt, nullptr));
}
BENCHMARK(BM_Replan128k)->Unit(benchmark::kMillisecond);

void BM_Replan128kBackward(benchmark::State& state) {
  auto in = inputs();
  in.backward = true;
  for (auto _ : state) benchmark::DoNotOptimize(cpsim::gui::plan_snapshot(in, std::nullopt, nullptr));
}
BENCHMARK(BM_Replan128kBackward)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  cpsim::keep_freed_memory_for_reuse();  // as cpsim-gui does (CPSIM_DEFAULT_MALLOC=1 to compare)
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
