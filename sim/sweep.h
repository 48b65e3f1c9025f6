// The CP degree question: one comparison per world size W, and what each W gives per GPU (throughput, scaling,
// exposed communication, memory against the GPU's), with the W to recommend. The CLI's `cpsim sweep` prints it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/workload.h"
#include "sim/compare.h"

namespace cpsim {

struct SweepOptions {
  std::vector<std::int64_t> world_sizes;
  std::int64_t block_size = 128;
  bool backward = false;
  CompareScope scope;
  // Activation memory of the rest of the model, per GPU: Korthikanti et al. 2022 ("Reducing Activation
  // Recomputation in Large Transformer Models", eq. 1: s·b·h·(34 + 5·a·s/h) bytes per layer; FlashAttention removes
  // the s² term) gives 34 bytes per token per hidden unit per layer, for the S/W tokens each GPU holds. 0 layers:
  // count attention's working set only.
  std::int64_t layers = 0;
  double reserve_bytes = 0;  // held by weights, optimizer states and the framework, per GPU
};

// One candidate as the sweep reports it.
struct SweepPick {
  Candidate candidate;
  double tokens_per_s_per_gpu = 0;  // rows x seq_len / step time / W (attention's step: the rest of a layer scales as 1/W)
  double scaling_efficiency = 0;    // tokens/s per GPU against the sweep's smallest valid W's same pick
  double memory_bytes = 0;          // attention's peak + the layers' activations
  bool fits = false;                // memory + reserve <= the GPU's
};

struct SweepRow {
  std::int64_t world_size = 0;
  std::int64_t nodes = 0;
  std::string error;                // why no candidate runs at this W (with the nearest W that works), or ""
  std::optional<SweepPick> pytorch;  // the best PyTorch can run
  std::optional<SweepPick> best;     // the best overall
};

struct Sweep {
  std::vector<SweepRow> rows;
  double gpu_memory_bytes = 0;
  std::optional<std::int64_t> smallest_fitting;      // the smallest W whose best PyTorch plan (else best) fits
  std::optional<std::int64_t> best_pytorch_per_gpu;  // among the W that fit, the one with the most tokens/s per GPU PyTorch can run
  std::optional<std::int64_t> best_per_gpu;          // ... of any runtime
};

Result<Sweep> sweep_world_sizes(const Workload& workload, const std::string& source, const HardwareProfile& profile, const SweepOptions& options);

std::string sweep_csv(const Sweep& sweep);

}  // namespace cpsim
