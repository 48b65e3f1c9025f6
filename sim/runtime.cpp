// Who can run a strategy today (see runtime.h for the rules and why).
#include "sim/runtime.h"

#include <array>

namespace cpsim {
namespace {

constexpr std::array<std::string_view, 3> kNames = {"pytorch", "cpsim", "simulated"};

bool pytorch_path(AttentionPath p) { return p == AttentionPath::kSdpaRing || p == AttentionPath::kFlexAllgather; }

}  // namespace

std::string_view runtime_name(Runtime r) { return kNames[static_cast<std::size_t>(r)]; }

std::optional<Runtime> parse_runtime(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Runtime>(i);
  }
  return std::nullopt;
}

Result<std::optional<Runtime>> parse_runtime_filter(std::string_view text) {
  if (text == "any") return std::optional<Runtime>();
  const auto r = parse_runtime(text);
  if (!r || *r == Runtime::kSimulated) return bad_input("--runtime: \"" + std::string(text) + "\" is not one of pytorch, cpsim, any");
  return std::optional<Runtime>(*r);
}

RuntimeInfo runtime_of(const Strategy& s, const HardwareProfile& profile, bool pytorch_balancer) {
  if (s.ulysses > 1 || s.pure_ulysses) {
    return {Runtime::kSimulated, "simulated only: neither PyTorch's CP nor cpsim execute runs Ulysses"};
  }
  if (profile.device_kind == DeviceKind::kCpu) {
    // A CPU profile models cpsim's thread executor, so what it predicts is what `cpsim execute` runs.
    return {Runtime::kCpsim, "cpsim execute (CPU threads, or MPI processes)"};
  }
  if (pytorch_path(s.path)) {
    const std::string rotate = s.path == AttentionPath::kSdpaRing ? " with set_rotate_method(\"" + std::string(rotate_name(s.rotate)) + "\")" : "";
    const std::string kernel = s.kernel == "flex" ? "FlexAttention" : "SDPA's " + s.kernel + " backend";
    return {Runtime::kPyTorch, "PyTorch CP" + rotate + " on " + kernel +
                                   (pytorch_balancer ? "" : ", the plan's indices through cpsim.torch.load_balancer")};
  }
  if (s.path == AttentionPath::kSparseRing && s.kernel == "cpsim") {
    return {Runtime::kCpsim, "cpsim execute --device cuda (NCCL between GPUs under mpirun; not yet run on a GPU)"};
  }
  if (s.path == AttentionPath::kSparseGather) {
    return {Runtime::kSimulated, "simulated only: cpsim's CUDA executor gathers all K/V for a sparse gather (the CPU executors run it)"};
  }
  return {Runtime::kSimulated, "simulated only: no runtime runs " + std::string(path_name(s.path)) + " on " + s.kernel + " (cpsim's executor runs its own kernel, cpsim)"};
}

}  // namespace cpsim
