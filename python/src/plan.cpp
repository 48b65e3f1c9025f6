// cpsim.Plan: a workload split over W ranks: PyTorch's rearrange/restore indices as numpy (B, S) int64 arrays, the
// per-rank and per-(rank, ring step) work, the strategy and its prediction; PLAN.json text both ways.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include "core/balancer.h"
#include "python/src/bindings.h"
#include "sim/runtime.h"

namespace cpsim::py {

PyPlan with_runtime(Plan plan, const HardwareProfile* profile) {
  PyPlan p{std::move(plan), "", ""};
  if (!p.plan.strategy) return p;
  std::shared_ptr<const HardwareProfile> loaded;
  if (profile == nullptr && !p.plan.hardware.empty()) {
    try {
      loaded = hardware_profile(p.plan.hardware);
      profile = loaded.get();
    } catch (const Error&) {
      return p;  // a plan predicted on a profile this machine lacks: its runtime is unknown here, not an error
    }
  }
  if (profile == nullptr) return p;
  const Balancer* balancer = find_balancer(p.plan.balancer);
  const RuntimeInfo info = runtime_of(*p.plan.strategy, *profile, balancer != nullptr && balancer->from_pytorch());
  p.runtime = std::string(runtime_name(info.runtime));
  p.runtime_note = info.how;
  return p;
}

namespace {

// rearrange (or restore) indices of every row, as one (B, S) array.
nb::ndarray<nb::numpy, std::int64_t> indices(const Plan& plan, bool restore) {
  const std::size_t rows = plan.layouts.size(), s = static_cast<std::size_t>(plan.workload.seq_len);
  std::vector<std::int64_t> out;
  out.reserve(rows * s);
  for (const RowLayout& layout : plan.layouts) {
    const auto& v = restore ? layout.restore() : layout.rearrange();
    out.insert(out.end(), v.begin(), v.end());
  }
  return numpy_array(std::move(out), {rows, s});
}

// A (W, W) table of the work account: entry [r][i] is rank r at ring step i (K/V of rank (r - i) mod W).
template <typename F>
nb::ndarray<nb::numpy, std::int64_t> step_table(const Plan& plan, F entry) {
  const std::int64_t w = plan.world_size;
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(w * w));
  for (std::int64_t r = 0; r < w; ++r) {
    for (std::int64_t i = 0; i < w; ++i) out.push_back(entry(r, i));
  }
  return numpy_array(std::move(out), {static_cast<std::size_t>(w), static_cast<std::size_t>(w)});
}

template <typename F>
nb::ndarray<nb::numpy, std::int64_t> rank_vector(const Plan& plan, F entry) {
  std::vector<std::int64_t> out;
  for (std::int64_t r = 0; r < plan.world_size; ++r) out.push_back(entry(r));
  return numpy_array(std::move(out), {out.size()});
}

PyPlan from_json_text(nb::handle text_arg, nb::handle source_arg) {
  const std::string text = str_arg(text_arg, "text"), source = str_arg(source_arg, "source");
  Result<Plan> plan = bad_input("");
  {
    const nb::gil_scoped_release unlocked;  // reading back checks the indices and recomputes the work account
    auto doc = parse_json_text(text, source);
    plan = doc ? plan_from_json(*doc, source) : Result<Plan>(doc.error());
  }
  return with_runtime(value_or_raise(std::move(plan)), nullptr);
}

PyPlan load(nb::handle path_handle) {
  const std::string path = path_arg(path_handle, "path");
  Result<Plan> plan = bad_input("");
  {
    const nb::gil_scoped_release unlocked;
    plan = load_plan(path);
  }
  return with_runtime(value_or_raise(std::move(plan)), nullptr);
}

std::optional<std::string> strategy_field(const Plan& p, std::string (*field)(const Strategy&)) {
  if (!p.strategy) return std::nullopt;
  return field(*p.strategy);
}

}  // namespace

void bind_plan(nb::module_& m) {
  nb::class_<PyPlan>(m, "Plan",
                     "A workload split over W ranks by one balancer: PyTorch's index contract (Q' = Q[rearrange], rank r owns\n"
                     "slots [r*S/W, (r+1)*S/W), restore = argsort(rearrange)), the work of every rank and, when a strategy is\n"
                     "attached, the strategy and its predicted times. Immutable.")
      .def_static("from_json", &from_json_text, nb::arg("text").none(), nb::arg("source").none() = "plan",
                  nb::sig("def from_json(text: str, source: str = 'plan') -> Plan"),
                  "A plan from PLAN.json's text; checks the indices, the embedded workload and its digest.")
      .def_static("load", &load, nb::arg("path").none(), nb::sig("def load(path: str | os.PathLike) -> Plan"), "A plan from a PLAN.json file (as `cpsim plan -o` or `compare --export` write).")
      .def("to_json", [](const PyPlan& p) { return plan_to_json_text(p.plan); }, "PLAN.json's text (what the CLI writes).")
      .def("save", [](const PyPlan& p, nb::handle path) { raise_if_error(save_plan(p.plan, path_arg(path, "path"))); }, nb::arg("path").none(),
           nb::sig("def save(self, path: str | os.PathLike) -> None"),
           "Writes PLAN.json (atomically: no half-written file).")
      .def_prop_ro("rearrange_indices", [](const PyPlan& p) { return indices(p.plan, false); }, nb::rv_policy::automatic,
                   "(B, S) int64: slot i of row b holds original position rearrange_indices[b, i] (PyTorch's\n"
                   "_generate_indices(restore=False)).")
      .def_prop_ro("restore_indices", [](const PyPlan& p) { return indices(p.plan, true); }, nb::rv_policy::automatic,
                   "(B, S) int64: argsort of rearrange_indices per row (PyTorch's _generate_indices(restore=True)).")
      .def_prop_ro("workload", [](const PyPlan& p) { return PyWorkload{p.plan.workload, p.plan.workload_source}; })
      .def_prop_ro("balancer", [](const PyPlan& p) { return p.plan.balancer; })
      .def_prop_ro("world_size", [](const PyPlan& p) { return p.plan.world_size; },
                   "Ranks of the layout (with Ulysses, the ring: GPUs / ulysses).")
      .def_prop_ro("block_size", [](const PyPlan& p) { return p.plan.block_size; }, "Tile and BlockMask block size.")
      .def_prop_ro("strategy", [](const PyPlan& p) { return strategy_field(p.plan, strategy_text); },
                   "The strategy as `cpsim compare` prints it, or None when no simulation is attached.")
      .def_prop_ro("attention_path", [](const PyPlan& p) -> std::optional<std::string> {
        if (!p.plan.strategy) return std::nullopt;
        return std::string(path_name(p.plan.strategy->path));
      })
      .def_prop_ro("rotate", [](const PyPlan& p) -> std::optional<std::string> {
        if (!p.plan.strategy) return std::nullopt;
        return std::string(rotate_name(p.plan.strategy->rotate));
      }, "'allgather' or 'alltoall': the value for torch's set_rotate_method.")
      .def_prop_ro("kernel", [](const PyPlan& p) -> std::optional<std::string> {
        if (!p.plan.strategy) return std::nullopt;
        return p.plan.strategy->kernel;
      })
      .def_prop_ro("ulysses", [](const PyPlan& p) { return p.plan.strategy ? p.plan.strategy->ulysses : 1; })
      .def_prop_ro("hardware", [](const PyPlan& p) -> std::optional<std::string> {
        if (p.plan.hardware.empty()) return std::nullopt;
        return p.plan.hardware;
      }, "The profile the prediction is for.")
      .def_prop_ro("runtime", [](const PyPlan& p) -> std::optional<std::string> {
        if (p.runtime.empty()) return std::nullopt;
        return p.runtime;
      }, "Who can run it: 'pytorch' (PyTorch CP as shipped, through cpsim.torch.load_balancer), 'cpsim' (cpsim execute)\n"
         "or 'simulated'; None without a strategy.")
      .def_prop_ro("runtime_note", [](const PyPlan& p) { return p.runtime_note; })
      .def_prop_ro("step_us", [](const PyPlan& p) -> std::optional<double> {
        if (!p.plan.predicted.is_object()) return std::nullopt;
        return p.plan.predicted.value("step_us", 0.0);
      }, "Predicted step time in microseconds (forward, or forward + backward), or None.")
      .def_prop_ro("predicted", [](const PyPlan& p) { return to_python(p.plan.predicted); },
                   "PLAN.json's 'predicted': step times and per-(rank, step) compute and communication, or None.")
      .def_prop_ro("rank_pairs", [](const PyPlan& p) { return rank_vector(p.plan, [&](std::int64_t r) { return p.plan.work.rank_pairs(r); }); }, nb::rv_policy::automatic,
                   "(W,) int64: useful (q, k) pairs per rank.")
      .def_prop_ro("rank_tiles", [](const PyPlan& p) {
        return rank_vector(p.plan, [&](std::int64_t r) { return p.plan.work.rank_tiles(r).nonempty(); });
      }, nb::rv_policy::automatic, "(W,) int64: non-empty block_size x block_size tiles per rank.")
      .def_prop_ro("step_pairs", [](const PyPlan& p) {
        return step_table(p.plan, [&](std::int64_t r, std::int64_t i) { return p.plan.work.step_pairs(r, i); });
      }, nb::rv_policy::automatic, "(W, W) int64: pairs of rank r at ring step i (the K/V of rank (r - i) mod W).")
      .def_prop_ro("step_full_tiles", [](const PyPlan& p) {
        return step_table(p.plan, [&](std::int64_t r, std::int64_t i) { return p.plan.work.step_tiles(r, i).full; });
      }, nb::rv_policy::automatic, "(W, W) int64: fully visible tiles of rank r at ring step i.")
      .def_prop_ro("step_partial_tiles", [](const PyPlan& p) {
        return step_table(p.plan, [&](std::int64_t r, std::int64_t i) { return p.plan.work.step_tiles(r, i).partial; });
      }, nb::rv_policy::automatic, "(W, W) int64: partly visible (masked) tiles of rank r at ring step i.")
      .def_prop_ro("pair_imbalance", [](const PyPlan& p) { return p.plan.work.pair_imbalance(); }, "max/mean of rank_pairs.")
      .def_prop_ro("tile_imbalance", [](const PyPlan& p) { return p.plan.work.tile_imbalance(); }, "max/mean of rank_tiles.")
      .def("__repr__", [](const PyPlan& p) {
        std::string s = "Plan(balancer=" + p.plan.balancer + ", world_size=" + std::to_string(p.plan.world_size) + ", rows=" +
                        std::to_string(p.plan.layouts.size()) + ", seq_len=" + std::to_string(p.plan.workload.seq_len);
        if (p.plan.strategy) s += ", strategy='" + strategy_text(*p.plan.strategy) + "'";
        if (p.plan.predicted.is_object()) s += ", step_us=" + std::to_string(p.plan.predicted.value("step_us", 0.0));
        if (!p.runtime.empty()) s += ", runtime=" + p.runtime;
        return s + ")";
      });
}

}  // namespace cpsim::py
