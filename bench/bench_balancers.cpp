// Balancer + work accounting time (indices, layout, per-rank and per-(rank, step) pairs and tiles) on the
// shipped document workloads: 131,072 tokens at W = 8 and 1,048,576 tokens (1,045 documents) at W = 64,
// document_causal, T = 128. Targets on one core: <= 10 ms and <= 200 ms per balancer.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>

#include "core/allocator.h"
#include "core/balancer.h"
#include "core/plan.h"
#include "core/workload_json.h"

namespace {

const cpsim::Workload& shipped(const std::string& name) {
  static std::map<std::string, cpsim::Workload> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    auto w = cpsim::load_workload(std::string(CPSIM_SOURCE_DIR) + "/data/workloads/" + name);
    if (!w) {
      std::cerr << w.error().message << "\n";
      std::exit(2);
    }
    it = cache.emplace(name, std::move(*w)).first;
  }
  return it->second;
}

void BM_Plan(benchmark::State& state, const std::string& file, const std::string& balancer, std::int64_t world) {
  const cpsim::Workload& w = shipped(file);
  for (auto _ : state) {
    auto plan = cpsim::make_plan(w, file, balancer, world, 128);
    if (!plan) {
      state.SkipWithError(plan.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(plan->work.total_pairs());
  }
  state.counters["tokens"] = static_cast<double>(w.seq_len);
}

void register_all() {
  for (const auto& registered : cpsim::balancer_registry()) {
    const std::string balancer(registered->name());
    benchmark::RegisterBenchmark(("128k_W8/" + balancer).c_str(), BM_Plan, "doc-lognormal-128k.json",
                                 balancer, 8)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("1M_W64/" + balancer).c_str(), BM_Plan, "doc-lognormal-1m.json",
                                 balancer, 64)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  cpsim::keep_freed_memory_for_reuse();  // as in the programs that plan (CPSIM_DEFAULT_MALLOC=1 to compare)
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
