// Hardware profiles: GPU compute and memory, attention-kernel efficiency, tile costs, links and node
// shape. Every number in a profile file carries its source (and an estimate flag); nothing is tuned in code.
#pragma once

#include <cstdint>
#include <string>

#include "core/device_kind.h"
#include "core/json_fields.h"
#include "core/result.h"

namespace cpsim {

struct LinkSpec {
  bool present = false;
  double p2p_bandwidth_gb_s = 0;     // one sender to one receiver (ring hops)
  double collective_busbw_gb_s = 0;  // NCCL ring collectives (all-gather, reduce-scatter)
  double latency_us = 0;             // per message / per ring step
};

struct HardwareProfile {
  std::string name;
  std::string description;
  std::string source;  // the file it was read from
  std::string digest;  // content_digest of the parsed document: two profiles of one name can differ
  DeviceKind device_kind = DeviceKind::kGpu;  // "device_kind" (default gpu): whose measurements compare with it
  std::string gpu_model;
  std::int64_t sm_count = 0;
  double peak_bf16_tflops = 0;
  double hbm_gb = 0;
  double hbm_bandwidth_tb_s = 0;
  double fwd_efficiency_by_hdim[3] = {0, 0, 0};  // head dim 64, 128, 256
  double bwd_efficiency_by_hdim[3] = {0, 0, 0};
  double block_sparse_efficiency_factor = 1;  // block-sparse (flex-style) kernels relative to FA
  double partial_tile_overhead_fraction = 0;
  std::int64_t tile_tokens = 128;
  std::int64_t ctas_per_sm = 1;
  double kernel_launch_us = 0;
  double backward_flops_factor = 2.5;
  std::int64_t gpus_per_node = 8;
  std::int64_t nodes = 1;
  LinkSpec nvlink;
  LinkSpec infiniband;
  double overlap_compute_slowdown_fraction = 0;

  std::int64_t total_gpus() const { return gpus_per_node * nodes; }
  // Attention kernel efficiency (fraction of peak) at a head dim: linear in log2(head_dim) between the
  // profile's 64/128/256 points, clamped outside them.
  double fwd_efficiency(std::int64_t head_dim) const;
  double bwd_efficiency(std::int64_t head_dim) const;
};

Result<HardwareProfile> load_hardware_profile(const std::string& path);
// The same checks on a parsed document; `source` names it in errors.
Result<HardwareProfile> hardware_profile_from_json(const Json& doc, const std::string& source);

// A profile by file path, or by name from the shipped data/hardware/ folder ($CPSIM_DATA_DIR overrides
// where that folder is looked for).
Result<HardwareProfile> find_hardware_profile(const std::string& name_or_path);
std::string hardware_dir();

}  // namespace cpsim
