// Loads hardware profiles, checking that every number is present, positive and sourced.
#include "sim/hardware.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/json_fields.h"
#include "core/text_format.h"

#ifndef CPSIM_DEFAULT_DATA_DIR
#define CPSIM_DEFAULT_DATA_DIR "data"
#endif

namespace cpsim {
namespace {

double interpolate(const double (&by_hdim)[3], std::int64_t head_dim) {
  const double x = std::log2(static_cast<double>(std::max<std::int64_t>(head_dim, 1)));
  if (x <= 6) return by_hdim[0];
  if (x >= 8) return by_hdim[2];
  const int i = x < 7 ? 0 : 1;
  const double t = x - (6 + i);
  return by_hdim[i] + t * (by_hdim[i + 1] - by_hdim[i]);
}

class ProfileReader {
 public:
  explicit ProfileReader(const std::string& source) : rd_(source) {}

  // A {"value": number, "source": "...", "estimate": bool} entry above `above` (positive by default) and at most
  // `max`: every number has a range, so that no profile gives an infinite or NaN time.
  Result<double> number(const Json& object, const std::string& field, std::string_view key, double max, double above = 0) const {
    auto node = rd_.member(object, field, key);
    if (!node) return node.error();
    const std::string path = FieldReader::join(field, key);
    if (auto ok = rd_.expect_object(**node, path); !ok) return ok.error();
    if (auto ok = rd_.expect_only_keys(**node, path, {"value", "source", "estimate"}); !ok) return ok.error();
    auto value = rd_.member(**node, path, "value");
    if (!value) return value.error();
    if (!(*value)->is_number()) return rd_.error(path + ".value", "expected a number, got " + describe_value(**value));
    const double v = (*value)->get<double>();
    if (!std::isfinite(v) || v <= above) {
      return rd_.error(path + ".value", (above == 0 ? std::string("must be a positive number") : "must be a number above " + format_number(above, "%g")) +
                                            ", got " + json_text(**value));
    }
    if (v > max) return rd_.error(path + ".value", "must be at most " + format_number(max, "%g") + ", got " + json_text(**value));
    auto src = rd_.member(**node, path, "source");
    if (!src) return rd_.error(path + ".source", "missing: every number in a profile needs a source");
    auto text = rd_.string(**src, path + ".source");
    if (!text) return text.error();
    if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
      return rd_.error(path + ".source", "blank: every number in a profile needs a source");
    }
    return v;
  }

  Result<std::int64_t> count(const Json& object, const std::string& field, std::string_view key, double max) const {
    auto v = number(object, field, key, max);
    if (!v) return v.error();
    if (*v != std::floor(*v)) {
      return rd_.error(FieldReader::join(field, key) + ".value", "must be a whole number, got " + json_text(Json(*v)));
    }
    return static_cast<std::int64_t>(*v);
  }

  Result<const Json*> object(const Json& parent, const std::string& field, std::string_view key) const {
    auto node = rd_.member(parent, field, key);
    if (!node) return node.error();
    if (auto ok = rd_.expect_object(**node, FieldReader::join(field, key)); !ok) return ok.error();
    return node;
  }

  const FieldReader& fields() const { return rd_; }

 private:
  FieldReader rd_;
};

Result<LinkSpec> read_link(const ProfileReader& pr, const Json& links, std::string_view key) {
  LinkSpec link;
  const std::string field = FieldReader::join("links", key);
  CPSIM_ASSIGN_OR_RETURN(const Json* node, pr.object(links, "links", key));
  CPSIM_ASSIGN_OR_RETURN(link.p2p_bandwidth_gb_s, pr.number(*node, field, "p2p_bandwidth_gb_s", 1e6, 1e-3));
  CPSIM_ASSIGN_OR_RETURN(link.collective_busbw_gb_s, pr.number(*node, field, "collective_busbw_gb_s", 1e6, 1e-3));
  CPSIM_ASSIGN_OR_RETURN(link.latency_us, pr.number(*node, field, "latency_us", 1e6));
  link.present = true;
  return link;
}

}  // namespace

double HardwareProfile::fwd_efficiency(std::int64_t head_dim) const { return interpolate(fwd_efficiency_by_hdim, head_dim); }
double HardwareProfile::bwd_efficiency(std::int64_t head_dim) const { return interpolate(bwd_efficiency_by_hdim, head_dim); }

Result<HardwareProfile> load_hardware_profile(const std::string& path) {
  CPSIM_ASSIGN_OR_RETURN(const Json doc, read_json_file(path));
  return hardware_profile_from_json(doc, path);
}

Result<HardwareProfile> hardware_profile_from_json(const Json& d, const std::string& path) {
  const ProfileReader pr(path);
  const FieldReader& rd = pr.fields();
  if (auto ok = rd.expect_object(d, ""); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(d, "", {"schema_version", "name", "description", "device_kind", "gpu", "node", "links",
                                            "overlap_compute_slowdown_fraction"}); !ok) {
    return ok.error();
  }
  HardwareProfile p;
  p.source = path;
  p.digest = content_digest(json_text(d));
  CPSIM_ASSIGN_OR_RETURN(const std::string kind, rd.optional_string(d, "", "device_kind", "gpu"));
  const auto parsed_kind = parse_device_kind(kind);
  if (!parsed_kind) return rd.error("device_kind", "expected \"gpu\" or \"cpu\", got " + describe_value(Json(kind)));
  p.device_kind = *parsed_kind;
  CPSIM_ASSIGN_OR_RETURN(const Json* version, rd.member(d, "", "schema_version"));
  if (*version != Json(1)) return rd.error("schema_version", "unsupported version " + describe_value(*version) + " (this cpsim reads 1)");
  CPSIM_ASSIGN_OR_RETURN(const Json* name, rd.member(d, "", "name"));
  CPSIM_ASSIGN_OR_RETURN(p.name, rd.string(*name, "name"));
  if (d.contains("description")) {
    CPSIM_ASSIGN_OR_RETURN(p.description, rd.string(d["description"], "description"));
  }
  CPSIM_ASSIGN_OR_RETURN(const Json* gpu, pr.object(d, "", "gpu"));
  CPSIM_ASSIGN_OR_RETURN(const Json* model, rd.member(*gpu, "gpu", "model"));
  CPSIM_ASSIGN_OR_RETURN(p.gpu_model, rd.string(*model, "gpu.model"));
  CPSIM_ASSIGN_OR_RETURN(p.sm_count, pr.count(*gpu, "gpu", "sm_count", 100000));
  CPSIM_ASSIGN_OR_RETURN(p.peak_bf16_tflops, pr.number(*gpu, "gpu", "peak_bf16_tflops", 1e6, 1e-6));
  CPSIM_ASSIGN_OR_RETURN(p.hbm_gb, pr.number(*gpu, "gpu", "hbm_gb", 1e6, 1e-6));
  CPSIM_ASSIGN_OR_RETURN(p.hbm_bandwidth_tb_s, pr.number(*gpu, "gpu", "hbm_bandwidth_tb_s", 1e4, 1e-6));
  const char* const hdims[] = {"64", "128", "256"};
  for (int i = 0; i < 3; ++i) {
    CPSIM_ASSIGN_OR_RETURN(p.fwd_efficiency_by_hdim[i], pr.number(*gpu, "gpu", std::string("attn_fwd_efficiency_hdim") + hdims[i], 1.0, 1e-4));
    CPSIM_ASSIGN_OR_RETURN(p.bwd_efficiency_by_hdim[i], pr.number(*gpu, "gpu", std::string("attn_bwd_efficiency_hdim") + hdims[i], 1.0, 1e-4));
  }
  CPSIM_ASSIGN_OR_RETURN(p.block_sparse_efficiency_factor, pr.number(*gpu, "gpu", "block_sparse_efficiency_factor", 1.0, 1e-4));
  // Positive on GPUs (per-element masking costs extra); negative, down to -1, where a kernel skips masked pairs.
  CPSIM_ASSIGN_OR_RETURN(p.partial_tile_overhead_fraction, pr.number(*gpu, "gpu", "partial_tile_overhead_fraction", 100, -1));
  CPSIM_ASSIGN_OR_RETURN(p.tile_tokens, pr.count(*gpu, "gpu", "tile_tokens", 65536));
  CPSIM_ASSIGN_OR_RETURN(p.ctas_per_sm, pr.count(*gpu, "gpu", "ctas_per_sm", 64));
  CPSIM_ASSIGN_OR_RETURN(p.kernel_launch_us, pr.number(*gpu, "gpu", "kernel_launch_us", 1e6));
  CPSIM_ASSIGN_OR_RETURN(p.backward_flops_factor, pr.number(*gpu, "gpu", "backward_flops_factor", 100));
  CPSIM_ASSIGN_OR_RETURN(const Json* node, pr.object(d, "", "node"));
  CPSIM_ASSIGN_OR_RETURN(p.gpus_per_node, pr.count(*node, "node", "gpus_per_node", 1024));
  CPSIM_ASSIGN_OR_RETURN(p.nodes, pr.count(*node, "node", "nodes", 65536));
  CPSIM_ASSIGN_OR_RETURN(const Json* links, pr.object(d, "", "links"));
  CPSIM_ASSIGN_OR_RETURN(p.nvlink, read_link(pr, *links, "nvlink"));
  if (p.nodes > 1) {
    if (!links->contains("infiniband")) return rd.error("links.infiniband", "missing: a profile with more than one node needs an inter-node link");
    CPSIM_ASSIGN_OR_RETURN(p.infiniband, read_link(pr, *links, "infiniband"));
  }
  CPSIM_ASSIGN_OR_RETURN(p.overlap_compute_slowdown_fraction, pr.number(d, "", "overlap_compute_slowdown_fraction", 1.0));
  if (p.total_gpus() > (std::int64_t{1} << 20)) {
    return rd.error("node.nodes", std::to_string(p.nodes) + " nodes of " + std::to_string(p.gpus_per_node) + " GPUs are more than 2^20 GPUs");
  }
  return p;
}

std::string hardware_dir() {
  if (const char* dir = std::getenv("CPSIM_DATA_DIR"); dir != nullptr && *dir != '\0') return std::string(dir) + "/hardware";
  return std::string(CPSIM_DEFAULT_DATA_DIR) + "/hardware";
}

Result<HardwareProfile> find_hardware_profile(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  if (name_or_path.find('/') != std::string::npos || name_or_path.ends_with(".json")) return load_hardware_profile(name_or_path);
  const fs::path shipped = fs::path(hardware_dir()) / (name_or_path + ".json");
  std::error_code ec;
  if (fs::exists(shipped, ec)) return load_hardware_profile(shipped.string());
  std::string names;
  for (const auto& entry : fs::directory_iterator(hardware_dir(), ec)) {
    if (entry.path().extension() == ".json") names += (names.empty() ? "" : ", ") + entry.path().stem().string();
  }
  return bad_input("--hardware: unknown profile \"" + name_or_path + "\" (shipped in " + hardware_dir() + ": " +
                   (names.empty() ? "none found" : names) + "; or give a file path)");
}

}  // namespace cpsim
