// The strategies compare tries and the rules every one must meet; each path adds its own (sim/paths/).
#include "sim/strategy_rules.h"

#include "sim/path.h"

namespace cpsim {

std::vector<Strategy> ring_strategies(const std::string& balancer) {
  std::vector<Strategy> out;
  for (const auto& p : path_registry()) {
    for (const RotateMethod r : p->rotate_methods()) {
      Strategy s;
      s.balancer = balancer;
      s.path = p->path();
      s.rotate = r;
      out.push_back(s);
    }
  }
  return out;
}

AttentionPath default_path(const Plan& plan, RotateMethod rotate) {
  Strategy sdpa;
  sdpa.balancer = plan.balancer;
  sdpa.path = AttentionPath::kSdpaRing;
  sdpa.rotate = rotate;
  if (!unsupported_reason(plan, sdpa)) return AttentionPath::kSdpaRing;
  return rotate == RotateMethod::kAllGather ? AttentionPath::kFlexAllgather : AttentionPath::kSparseRing;
}

std::optional<std::string> unsupported_reason(const Plan& plan, const Strategy& s) {
  const ModelShape& model = plan.workload.model;
  if (s.ulysses < 1) return "the Ulysses degree must be at least 1";
  if (s.ulysses > 1 && (model.kv_heads % s.ulysses != 0 || model.q_heads % s.ulysses != 0)) {
    return "Ulysses degree " + std::to_string(s.ulysses) + " must divide kv_heads " + std::to_string(model.kv_heads) +
           " and q_heads " + std::to_string(model.q_heads);
  }
  if (s.pure_ulysses && plan.world_size != 1) return "pure Ulysses has no ring: its plan has one rank, not " + std::to_string(plan.world_size);
  const PathModel& path = path_model(s.path);
  const std::int64_t most = path.max_stages(plan.world_size);
  if (s.gather_stages != 0 && (most == 0 || s.gather_stages > most)) {
    return most == 0 ? "stages apply to the sparse_gather path only"
                     : "the sparse gather over " + std::to_string(plan.world_size) + " ranks takes 1 to " + std::to_string(most) +
                           " stages (one per other rank), not " + std::to_string(s.gather_stages);
  }
  return path.unsupported_reason(plan, s);
}

std::vector<const KernelSpec*> path_kernels(const HardwareProfile& profile, AttentionPath path) {
  std::vector<const KernelSpec*> out;
  const PathModel& model = path_model(path);
  for (const KernelSpec& k : profile.kernels) {
    if (model.accepts(k.interface)) out.push_back(&k);
  }
  return out;
}

Result<const KernelSpec*> strategy_kernel(const HardwareProfile& profile, const Strategy& s) {
  const std::vector<const KernelSpec*> allowed = path_kernels(profile, s.path);
  std::string names;
  for (const KernelSpec* k : allowed) names += (names.empty() ? "" : ", ") + k->name;
  const std::string path(path_name(s.path));
  if (s.kernel.empty()) {
    if (allowed.empty()) return bad_input("profile " + profile.name + " has no kernel " + path + " can call (it has " + profile.kernel_names() + ")");
    return allowed.front();
  }
  const KernelSpec* k = profile.kernel(s.kernel);
  if (k == nullptr) return bad_input("kernel \"" + s.kernel + "\" is not in profile " + profile.name + " (it has " + profile.kernel_names() + ")");
  for (const KernelSpec* a : allowed) {
    if (a == k) return k;
  }
  return bad_input(path + " cannot call " + k->name + " (a " + std::string(interface_name(k->interface)) + " kernel); on " + profile.name +
                   " it runs " + (names.empty() ? "none" : names));
}

}  // namespace cpsim
