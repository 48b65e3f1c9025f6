// Hardware profiles: GPU compute and memory, the attention kernels it runs (sim/kernel.h), the links with a
// time curve per kind of communication, and the node shape. Every number in a profile file carries its source
// (and an estimate flag); nothing is tuned in code.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/device_kind.h"
#include "core/json_fields.h"
#include "core/result.h"
#include "sim/kernel.h"

namespace cpsim {

inline constexpr int kProfileSchemaVersion = 2;

// The kinds of communication cpsim's paths issue, each with its own nccl-tests curve: a ring hop (send/recv),
// the all-gather of K/V and the reduce-scatter of dK/dV, and the all-to-all of Ulysses and the sparse gather.
enum class CommOp { kP2p, kAllGather, kReduceScatter, kAllToAll };
inline constexpr std::array<CommOp, 4> kCommOps = {CommOp::kP2p, CommOp::kAllGather, CommOp::kReduceScatter, CommOp::kAllToAll};
std::string_view comm_op_name(CommOp op);

// time = max(floor_us, latency_us x steps + bus bytes / busbw): a call never takes less than its floor (launch and
// synchronisation), and beyond it the bandwidth ramps up with the message as latency + size / bandwidth does. Bus
// bytes are nccl-tests' (the bytes one rank sends: (W - 1) / W of an all-gather's output); steps are W - 1 for the
// ring collectives and 1 otherwise.
struct OpCurve {
  double floor_us = 0;
  double latency_us = 0;
  double busbw_gb_s = 0;
  double time_us(double bus_bytes, double steps = 1) const;
};

struct LinkSpec {
  bool present = false;
  std::array<OpCurve, 4> ops;  // by CommOp
  const OpCurve& op(CommOp o) const { return ops[static_cast<std::size_t>(o)]; }
  OpCurve& op(CommOp o) { return ops[static_cast<std::size_t>(o)]; }
};

// How well the profile reproduces published measurements: `cpsim validate`'s check split, written into the
// profile by `cpsim calibrate --published` (a test keeps it equal to what validate prints).
struct ModelError {
  std::int64_t points = 0;
  double median = 0;  // |predicted - published| / published
  double p90 = 0;
  std::string command;  // how to reproduce it
};

struct HardwareProfile {
  std::string name;
  std::string description;
  std::string source;  // the file it was read from
  std::string digest;  // content_digest of the parsed document (and of the profile its kernels come from)
  DeviceKind device_kind = DeviceKind::kGpu;  // "device_kind" (default gpu): whose measurements compare with it
  std::string gpu_model;
  std::int64_t sm_count = 0;
  double peak_bf16_tflops = 0;
  double hbm_gb = 0;
  double hbm_bandwidth_tb_s = 0;
  double backward_flops_factor = 2.5;
  std::vector<KernelSpec> kernels;  // in profile order: a path's default kernel is the first it accepts
  std::string kernels_from;         // the profile whose kernels these are ("kernels_from"), or empty
  std::string kernels_file;         // the file the kernels were read from (this profile's, or kernels_from's)
  // A profile describes one node and the fabric between nodes: W beyond one node means more nodes of this kind,
  // up to `max_nodes` when the profile caps them (0: no cap; a profile without links.infiniband, whose
  // `infiniband.present` is false, is one node).
  std::int64_t gpus_per_node = 8;
  std::int64_t max_nodes = 0;
  LinkSpec nvlink;
  LinkSpec infiniband;
  double overlap_compute_slowdown_fraction = 0;
  std::optional<ModelError> model_error;
  // The model error of the profile its kernels come from ("kernels_from"), when it records one: the kernels are
  // validated there, this profile's own links are not.
  std::optional<ModelError> kernels_model_error;
  // The error to treat differences within as ties: this profile's, else its kernels' profile's; nothing if neither.
  std::optional<ModelError> tie_error() const { return model_error ? model_error : kernels_model_error; }
  std::vector<std::string> estimates;  // field paths of the numbers marked estimate (kernels' included)

  // The most GPUs the profile can describe: its node when it has no fabric, max_nodes of them, or cpsim's limit.
  std::int64_t max_gpus() const;
  std::int64_t nodes_for(std::int64_t gpus) const { return (gpus + gpus_per_node - 1) / gpus_per_node; }
  // "8 nodes x 8 H100 SXM5 80GB, NVLink inside a node, InfiniBand between" (one node: "1 x 8 ...").
  std::string shape_text(std::int64_t gpus) const;
  const KernelSpec* kernel(std::string_view name) const;
  std::string kernel_names() const;  // "fa2, cudnn, fa3, flex, cpsim"
};

// --kernel NAME: empty, or a kernel the profile has.
Status check_kernel_name(const HardwareProfile& profile, const std::string& kernel);

Result<HardwareProfile> load_hardware_profile(const std::string& path);
// The same checks on a parsed document; `source` names it in errors.
Result<HardwareProfile> hardware_profile_from_json(const Json& doc, const std::string& source);

// A profile by file path, or by name from the shipped data/hardware/ folder ($CPSIM_DATA_DIR overrides
// where that folder is looked for).
Result<HardwareProfile> find_hardware_profile(const std::string& name_or_path);
// The file find_hardware_profile reads for `name_or_path` (a path as given, a name in the shipped folder), found or not.
std::string hardware_profile_file(const std::string& name_or_path);
std::string hardware_dir();
std::string data_dir();

}  // namespace cpsim
