// Loads hardware profiles, checking that every number is present, ranged and sourced.
#include "sim/hardware.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/json_fields.h"
#include "core/limits.h"
#include "core/text_format.h"
#include "sim/profile_reader.h"

#ifndef CPSIM_DEFAULT_DATA_DIR
#define CPSIM_DEFAULT_DATA_DIR "data"
#endif

namespace cpsim {
namespace {

constexpr std::array<std::string_view, 4> kCommOpNames = {"p2p", "all_gather", "reduce_scatter", "all_to_all"};

Result<LinkSpec> read_link(const ProfileReader& pr, const Json& links, std::string_view key) {
  LinkSpec link;
  const std::string field = FieldReader::join("links", key);
  CPSIM_ASSIGN_OR_RETURN(const Json* node, pr.object(links, "links", key));
  if (auto ok = pr.fields().expect_only_keys(*node, field, {"p2p", "all_gather", "reduce_scatter", "all_to_all"}); !ok) return ok.error();
  for (const CommOp op : kCommOps) {
    const std::string_view name = comm_op_name(op);
    const std::string at = FieldReader::join(field, name);
    CPSIM_ASSIGN_OR_RETURN(const Json* curve, pr.object(*node, field, name));
    if (auto ok = pr.fields().expect_only_keys(*curve, at, {"floor_us", "latency_us", "busbw_gb_s"}); !ok) return ok.error();
    OpCurve& c = link.op(op);
    CPSIM_ASSIGN_OR_RETURN(const Sourced floor, pr.sourced(*curve, at, "floor_us", 1e6, 0, true));
    CPSIM_ASSIGN_OR_RETURN(const Sourced latency, pr.sourced(*curve, at, "latency_us", 1e6, 0, true));
    c.floor_us = floor.value;
    c.latency_us = latency.value;
    CPSIM_ASSIGN_OR_RETURN(c.busbw_gb_s, pr.number(*curve, at, "busbw_gb_s", 1e6, 1e-3));
  }
  link.present = true;
  return link;
}

Result<std::optional<ModelError>> read_model_error(const FieldReader& rd, const Json& d) {
  if (!d.contains("model_error")) return std::optional<ModelError>();
  const Json& node = d["model_error"];
  if (auto ok = rd.expect_object(node, "model_error"); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(node, "model_error", {"points", "median", "p90", "command"}); !ok) return ok.error();
  ModelError e;
  CPSIM_ASSIGN_OR_RETURN(const Json* points, rd.member(node, "model_error", "points"));
  CPSIM_ASSIGN_OR_RETURN(e.points, rd.integer(*points, "model_error.points"));
  if (e.points < 1 || e.points > 1000000) return rd.error("model_error.points", "must be 1 to 1000000, got " + std::to_string(e.points));
  for (const auto& [key, into] : {std::pair<const char*, double*>{"median", &e.median}, {"p90", &e.p90}}) {
    CPSIM_ASSIGN_OR_RETURN(const Json* v, rd.member(node, "model_error", key));
    const std::string field = std::string("model_error.") + key;
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < 0 || v->get<double>() > 10) {
      return rd.error(field, "expected a fraction from 0 to 10, got " + describe_value(*v));
    }
    *into = v->get<double>();
  }
  CPSIM_ASSIGN_OR_RETURN(e.command, rd.optional_string(node, "model_error", "command", ""));
  return std::optional<ModelError>(e);
}

// The profile that "kernels_from" names: a name beside this profile's file or shipped, or a path.
Result<HardwareProfile> kernels_source(const std::string& from, const std::string& path) {
  namespace fs = std::filesystem;
  if (from.find('/') == std::string::npos && !from.ends_with(".json")) {
    const fs::path beside = fs::path(path).parent_path() / (from + ".json");
    std::error_code ec;
    if (fs::is_regular_file(beside, ec)) return load_hardware_profile(beside.string());
  }
  return find_hardware_profile(from);
}

}  // namespace

std::string_view comm_op_name(CommOp op) { return kCommOpNames[static_cast<std::size_t>(op)]; }

double OpCurve::time_us(double bus_bytes, double steps) const {
  return std::max(floor_us, latency_us * steps + bus_bytes / (busbw_gb_s * 1e3));  // GB/s = 1e3 bytes/us
}

const KernelSpec* HardwareProfile::kernel(std::string_view kernel_name) const {
  for (const KernelSpec& k : kernels) {
    if (k.name == kernel_name) return &k;
  }
  return nullptr;
}

std::string HardwareProfile::kernel_names() const {
  std::string out;
  for (const KernelSpec& k : kernels) out += (out.empty() ? "" : ", ") + k.name;
  return out;
}

Status check_kernel_name(const HardwareProfile& profile, const std::string& kernel) {
  if (kernel.empty() || profile.kernel(kernel) != nullptr) return Ok{};
  return bad_input("--kernel: \"" + printable(kernel) + "\" is not a kernel of " + profile.name + " (it has " + profile.kernel_names() +
                   "; see cpsim kernels)");
}

Result<HardwareProfile> load_hardware_profile(const std::string& path) {
  CPSIM_ASSIGN_OR_RETURN(const Json doc, read_json_file(path));
  return hardware_profile_from_json(doc, path);
}

Result<HardwareProfile> hardware_profile_from_json(const Json& d, const std::string& path) {
  const ProfileReader pr(path);
  const FieldReader& rd = pr.fields();
  if (auto ok = rd.expect_object(d, ""); !ok) return ok.error();
  CPSIM_ASSIGN_OR_RETURN(const Json* version, rd.member(d, "", "schema_version"));
  if (*version != Json(kProfileSchemaVersion)) {
    return rd.error("schema_version", "unsupported version " + describe_value(*version) + " (this cpsim reads " +
                                          std::to_string(kProfileSchemaVersion) +
                                          ": kernels are named data under \"kernels\" and links have a curve per operation; "
                                          "start from a shipped profile in " + hardware_dir() + ")");
  }
  if (auto ok = rd.expect_only_keys(d, "", {"schema_version", "name", "description", "device_kind", "gpu", "kernels", "kernels_from",
                                            "node", "links", "overlap_compute_slowdown_fraction", "model_error"}); !ok) {
    return ok.error();
  }
  HardwareProfile p;
  p.source = path;
  p.digest = content_digest(json_text(d));
  CPSIM_ASSIGN_OR_RETURN(const std::string kind, rd.optional_string(d, "", "device_kind", "gpu"));
  const auto parsed_kind = parse_device_kind(kind);
  if (!parsed_kind) return rd.error("device_kind", "expected \"gpu\" or \"cpu\", got " + describe_value(Json(kind)));
  p.device_kind = *parsed_kind;
  CPSIM_ASSIGN_OR_RETURN(const Json* name, rd.member(d, "", "name"));
  CPSIM_ASSIGN_OR_RETURN(p.name, rd.string(*name, "name"));
  CPSIM_ASSIGN_OR_RETURN(p.description, rd.optional_string(d, "", "description", ""));
  CPSIM_ASSIGN_OR_RETURN(const Json* gpu, pr.object(d, "", "gpu"));
  if (auto ok = rd.expect_only_keys(*gpu, "gpu", {"model", "sm_count", "peak_bf16_tflops", "hbm_gb", "hbm_bandwidth_tb_s", "backward_flops_factor"});
      !ok) {
    return ok.error();
  }
  CPSIM_ASSIGN_OR_RETURN(const Json* model, rd.member(*gpu, "gpu", "model"));
  CPSIM_ASSIGN_OR_RETURN(p.gpu_model, rd.string(*model, "gpu.model"));
  CPSIM_ASSIGN_OR_RETURN(p.sm_count, pr.count(*gpu, "gpu", "sm_count", 100000));
  CPSIM_ASSIGN_OR_RETURN(p.peak_bf16_tflops, pr.number(*gpu, "gpu", "peak_bf16_tflops", 1e6, 1e-6));
  CPSIM_ASSIGN_OR_RETURN(p.hbm_gb, pr.number(*gpu, "gpu", "hbm_gb", 1e6, 1e-6));
  CPSIM_ASSIGN_OR_RETURN(p.hbm_bandwidth_tb_s, pr.number(*gpu, "gpu", "hbm_bandwidth_tb_s", 1e4, 1e-6));
  CPSIM_ASSIGN_OR_RETURN(p.backward_flops_factor, pr.number(*gpu, "gpu", "backward_flops_factor", 100));
  // The kernels: listed here, or those of another profile of the same GPU ("kernels_from"), never both.
  const bool listed = d.contains("kernels");
  if (listed == d.contains("kernels_from")) {
    return rd.error("kernels", listed ? "give \"kernels\" or \"kernels_from\", not both" : "missing: a profile lists its kernels (or names \"kernels_from\")");
  }
  if (listed) {
    p.kernels_file = path;
    CPSIM_ASSIGN_OR_RETURN(const Json* kernels, pr.object(d, "", "kernels"));
    if (kernels->empty()) return rd.error("kernels", "lists no kernel");
    for (const auto& [key, node] : kernels->items()) {
      CPSIM_ASSIGN_OR_RETURN(KernelSpec k, read_kernel(pr, node, key, "kernels." + key));
      p.kernels.push_back(std::move(k));
    }
  } else {
    CPSIM_ASSIGN_OR_RETURN(p.kernels_from, rd.string(d["kernels_from"], "kernels_from"));
    // One level only: the named profile must list its kernels (a chain, or a profile naming itself, stops here).
    static thread_local int depth = 0;
    if (depth > 0) return rd.error("kernels_from", "\"" + printable(p.kernels_from) + "\": the profile \"kernels_from\" names must list its own kernels");
    ++depth;
    auto from = kernels_source(p.kernels_from, path);
    --depth;
    if (!from) return rd.error("kernels_from", "\"" + printable(p.kernels_from) + "\": " + from.error().message);
    p.kernels = std::move(from->kernels);
    p.kernels_file = from->source;
    p.kernels_model_error = from->model_error;
    p.digest = content_digest(p.digest + from->digest);
    for (const std::string& e : from->estimates) {
      if (e.starts_with("kernels.")) p.estimates.push_back(p.kernels_from + ": " + e);
    }
  }
  CPSIM_ASSIGN_OR_RETURN(const Json* node, pr.object(d, "", "node"));
  CPSIM_ASSIGN_OR_RETURN(p.gpus_per_node, pr.count(*node, "node", "gpus_per_node", 1024));
  if (node->contains("nodes")) {
    return rd.error("node.nodes", "replaced by node.max_nodes, an optional cap: a profile describes one node and its fabric, and W beyond "
                                  "one node means more nodes of it (remove node.nodes, or rename it max_nodes to cap the cluster)");
  }
  if (node->contains("max_nodes")) {
    CPSIM_ASSIGN_OR_RETURN(p.max_nodes, pr.count(*node, "node", "max_nodes", 65536));
  }
  CPSIM_ASSIGN_OR_RETURN(const Json* links, pr.object(d, "", "links"));
  CPSIM_ASSIGN_OR_RETURN(p.nvlink, read_link(pr, *links, "nvlink"));
  if (links->contains("infiniband")) {
    CPSIM_ASSIGN_OR_RETURN(p.infiniband, read_link(pr, *links, "infiniband"));
  } else if (p.max_nodes > 1) {
    return rd.error("links.infiniband", "missing: node.max_nodes " + std::to_string(p.max_nodes) + " needs an inter-node link");
  }
  CPSIM_ASSIGN_OR_RETURN(p.overlap_compute_slowdown_fraction, pr.number(d, "", "overlap_compute_slowdown_fraction", 1.0));
  CPSIM_ASSIGN_OR_RETURN(p.model_error, read_model_error(rd, d));
  if (p.max_nodes * p.gpus_per_node > (std::int64_t{1} << 20)) {
    return rd.error("node.max_nodes", std::to_string(p.max_nodes) + " nodes of " + std::to_string(p.gpus_per_node) + " GPUs are more than 2^20 GPUs");
  }
  p.estimates.insert(p.estimates.begin(), pr.estimates().begin(), pr.estimates().end());
  return p;
}

std::int64_t HardwareProfile::max_gpus() const {
  if (!infiniband.present) return gpus_per_node;
  return max_nodes > 0 ? max_nodes * gpus_per_node : std::max(gpus_per_node, kMaxWorldSize);
}

std::string HardwareProfile::shape_text(std::int64_t gpus) const {
  const std::int64_t n = nodes_for(std::max<std::int64_t>(gpus, 1));
  const std::int64_t per = n == 1 ? std::min(gpus, gpus_per_node) : gpus_per_node;
  std::string out = std::to_string(n) + (n == 1 ? " node" : " nodes") + " x " + std::to_string(per) + " " + gpu_model;
  if (n > 1) out += ", NVLink inside a node, InfiniBand between";
  return out;
}

std::string data_dir() {
  if (const char* dir = std::getenv("CPSIM_DATA_DIR"); dir != nullptr && *dir != '\0') return dir;
  return CPSIM_DEFAULT_DATA_DIR;
}

std::string hardware_dir() { return data_dir() + "/hardware"; }

std::string hardware_profile_file(const std::string& name_or_path) {
  if (name_or_path.find('/') != std::string::npos || name_or_path.ends_with(".json")) return name_or_path;
  return (std::filesystem::path(hardware_dir()) / (name_or_path + ".json")).string();
}

Result<HardwareProfile> find_hardware_profile(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  const std::string file = hardware_profile_file(name_or_path);
  std::error_code ec;
  if (file == name_or_path || fs::exists(file, ec)) return load_hardware_profile(file);
  std::string names;
  for (const auto& entry : fs::directory_iterator(hardware_dir(), ec)) {
    if (entry.path().extension() == ".json") names += (names.empty() ? "" : ", ") + entry.path().stem().string();
  }
  return bad_input("--hardware: unknown profile \"" + printable(name_or_path) + "\" (shipped in " + hardware_dir() + ": " +
                   (names.empty() ? "none found" : names) + "; or give a file path)");
}

}  // namespace cpsim
