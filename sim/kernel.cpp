// Kernel constants: reading them from a profile and evaluating them at a head dim.
#include "sim/kernel.h"

#include <algorithm>
#include <cmath>

namespace cpsim {
namespace {

constexpr std::array<std::string_view, 4> kInterfaceNames = {"sdpa", "flex", "block_sparse", "any"};

// Linear in log2(head dim) between the given head dims, clamped outside them.
double interpolate(const std::array<double, 3>& by_hdim, std::int64_t head_dim) {
  const double x = std::log2(static_cast<double>(std::max<std::int64_t>(head_dim, 1)));
  if (x <= 6) return by_hdim[0];
  if (x >= 8) return by_hdim[2];
  const int i = x < 7 ? 0 : 1;
  const double t = x - (6 + i);
  return by_hdim[static_cast<std::size_t>(i)] + t * (by_hdim[static_cast<std::size_t>(i + 1)] - by_hdim[static_cast<std::size_t>(i)]);
}

Result<KernelPass> read_pass(const ProfileReader& pr, const Json& kernel, const std::string& field, bool backward) {
  const std::string name = backward ? "backward" : "forward";
  const std::string path = FieldReader::join(field, name);
  CPSIM_ASSIGN_OR_RETURN(const Json* node, pr.object(kernel, field, name));
  if (auto ok = backward ? pr.fields().expect_only_keys(*node, path, {"launch_us", "extra_bytes_per_element", "hdim64", "hdim128", "hdim256"})
                         : pr.fields().expect_only_keys(*node, path, {"launch_us", "hdim64", "hdim128", "hdim256"});
      !ok) {
    return ok.error();
  }
  KernelPass p;
  CPSIM_ASSIGN_OR_RETURN(p.launch_us, pr.sourced(*node, path, "launch_us", 1e6, 0, true));
  if (backward) {
    CPSIM_ASSIGN_OR_RETURN(p.extra_bytes_per_element, pr.sourced(*node, path, "extra_bytes_per_element", 1e3, 0, true));
  }
  for (std::size_t i = 0; i < kKernelHeadDims.size(); ++i) {
    const std::string key = "hdim" + std::to_string(kKernelHeadDims[i]);
    const std::string at = FieldReader::join(path, key);
    CPSIM_ASSIGN_OR_RETURN(const Json* h, pr.object(*node, path, key));
    if (auto ok = pr.fields().expect_only_keys(*h, at, {"tile", "efficiency", "cta_overhead_tiles", "partial_tile_cost"}); !ok) return ok.error();
    KernelConstants& k = p.by_hdim[i];
    CPSIM_ASSIGN_OR_RETURN(const auto tile, pr.tile(*h, at, "tile"));
    k.tile_q = tile[0];
    k.tile_k = tile[1];
    CPSIM_ASSIGN_OR_RETURN(k.efficiency, pr.sourced(*h, at, "efficiency", 1.0, 1e-4));
    CPSIM_ASSIGN_OR_RETURN(k.cta_overhead_tiles, pr.sourced(*h, at, "cta_overhead_tiles", 1e4, 0, true));
    // Below 1 where a kernel skips masked pairs (the CPU executor); above 1 where masking costs extra.
    CPSIM_ASSIGN_OR_RETURN(k.partial_tile_cost, pr.sourced(*h, at, "partial_tile_cost", 100, 1e-3));
  }
  return p;
}

}  // namespace

std::string_view interface_name(KernelInterface interface) { return kInterfaceNames[static_cast<std::size_t>(interface)]; }

std::optional<KernelInterface> parse_interface(std::string_view name) {
  for (std::size_t i = 0; i < kInterfaceNames.size(); ++i) {
    if (kInterfaceNames[i] == name) return static_cast<KernelInterface>(i);
  }
  return std::nullopt;
}

std::size_t head_dim_index(std::int64_t head_dim) {
  const double x = std::log2(static_cast<double>(std::max<std::int64_t>(head_dim, 1)));
  return x < 6.5 ? 0 : x < 7.5 ? 1 : 2;
}

KernelConstants KernelSpec::at(bool backward_pass, std::int64_t head_dim) const {
  const KernelPass& p = pass(backward_pass);
  KernelConstants k = p.by_hdim[head_dim_index(head_dim)];
  auto blend = [&](Sourced KernelConstants::*member) {
    std::array<double, 3> v{};
    for (std::size_t i = 0; i < 3; ++i) v[i] = (p.by_hdim[i].*member).value;
    (k.*member).value = interpolate(v, head_dim);
  };
  blend(&KernelConstants::efficiency);
  blend(&KernelConstants::cta_overhead_tiles);
  blend(&KernelConstants::partial_tile_cost);
  return k;
}

bool KernelSpec::estimated() const {
  for (const KernelPass* p : {&forward, &backward}) {
    if (!p->launch_us.estimate) return false;
    for (const KernelConstants& k : p->by_hdim) {
      if (!k.efficiency.estimate || !k.cta_overhead_tiles.estimate || !k.partial_tile_cost.estimate) return false;
    }
  }
  return true;
}

Result<KernelSpec> read_kernel(const ProfileReader& pr, const Json& node, const std::string& name, const std::string& field) {
  const FieldReader& rd = pr.fields();
  if (auto ok = rd.expect_object(node, field); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(node, field, {"description", "interface", "forward", "backward"}); !ok) return ok.error();
  if (name.empty() || name.size() > 32 || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return rd.error(field, "a kernel name is 1 to 32 of a-z, 0-9 and _");
  }
  KernelSpec k;
  k.name = name;
  CPSIM_ASSIGN_OR_RETURN(k.description, rd.optional_string(node, field, "description", ""));
  CPSIM_ASSIGN_OR_RETURN(const Json* interface, rd.member(node, field, "interface"));
  CPSIM_ASSIGN_OR_RETURN(const std::string text, rd.string(*interface, FieldReader::join(field, "interface")));
  const auto parsed = parse_interface(text);
  if (!parsed) {
    return rd.error(FieldReader::join(field, "interface"), "expected sdpa, flex, block_sparse or any, got " + describe_value(*interface));
  }
  k.interface = *parsed;
  CPSIM_ASSIGN_OR_RETURN(k.forward, read_pass(pr, node, field, false));
  CPSIM_ASSIGN_OR_RETURN(k.backward, read_pass(pr, node, field, true));
  return k;
}

}  // namespace cpsim
