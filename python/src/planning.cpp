// cpsim.plan, compare, choose and simulate: the planner's entry points, each running without the GIL so DataLoader
// workers and threads plan in parallel; results are the CLI's (PLAN.json's fields, compare --json, simulate --json).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "core/balancer.h"
#include "python/src/bindings.h"
#include "sim/compare.h"
#include "sim/report_json.h"
#include "sim/runtime.h"
#include "sim/simulate.h"

namespace cpsim::py {

namespace {

constexpr const char* kDefaultHardware = "h100-sxm-8x";

// A balancer list as --balancers takes it: None or "all", "pytorch", a name, or a sequence of names.
std::vector<std::string> balancer_list(const std::optional<std::vector<std::string>>& names) {
  if (!names) return {};
  std::string spec;
  for (const std::string& n : *names) spec += (spec.empty() ? "" : ",") + n;
  return value_or_raise(parse_balancer_list(spec));
}

std::optional<Runtime> runtime_filter(const std::optional<std::string>& runtime) {
  return runtime ? value_or_raise(parse_runtime_filter(*runtime)) : std::nullopt;
}

std::optional<Strategy> strategy_arg(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return value_or_raise(parse_strategy_text(*text, "--strategy"));
}

struct Request {
  std::int64_t world_size = 0;
  std::int64_t block_size = 128;
  std::shared_ptr<const HardwareProfile> profile;
  bool backward = false;
  std::string kernel;
};

PyPlan plan(const PyWorkload& w, std::int64_t world_size, std::optional<std::string> balancer, std::int64_t block_size,
            const std::string& hardware, std::optional<std::string> strategy_text_arg, std::optional<std::string> runtime,
            std::optional<std::string> kernel, bool backward, bool predict) {
  const std::optional<Strategy> given = strategy_arg(strategy_text_arg);
  if (given && balancer && *balancer != given->balancer) {
    throw Error("--balancer: " + *balancer + " differs from the balancer of --strategy (" + given->balancer + "); give one of them");
  }
  if (!predict && (given || runtime || kernel || backward)) {
    throw Error("--predict: strategy, runtime, kernel and backward choose the prediction; drop them or keep predict=True");
  }
  const std::string name = given ? given->balancer : balancer.value_or("head_tail");
  const std::optional<Runtime> filter = runtime_filter(runtime);
  const auto profile = predict ? hardware_profile(hardware) : nullptr;
  if (profile) raise_if_error(check_kernel_name(*profile, kernel.value_or("")));
  Result<Plan> made = bad_input("");
  {
    const nb::gil_scoped_release unlocked;
    made = [&]() -> Result<Plan> {
      CPSIM_RETURN_IF_ERROR(check_world_size(world_size, w.workload, w.source));
      if (given) CPSIM_RETURN_IF_ERROR(check_strategy_world_size(*given, world_size));
      CPSIM_ASSIGN_OR_RETURN(Plan p, make_plan(w.workload, w.source, name, given ? given->plan_world_size(world_size) : world_size, block_size));
      if (!predict) return p;
      CPSIM_ASSIGN_OR_RETURN(const Simulation sim, simulate_for_plan(p, given, *profile, backward, kernel.value_or(""), given ? std::nullopt : filter));
      attach_simulation(p, sim, *profile);
      return p;
    }();
  }
  return with_runtime(value_or_raise(std::move(made)), profile.get());
}

Comparison run_compare(const PyWorkload& w, const Request& r, const CompareScope& scope) {
  Result<Comparison> c = bad_input("");
  {
    const nb::gil_scoped_release unlocked;
    c = compare_strategies(w.workload, w.source, r.world_size, r.block_size, *r.profile, r.backward, nullptr, scope);
  }
  return value_or_raise(std::move(c));
}

CompareScope scope_of(const std::optional<std::vector<std::string>>& balancers, bool ulysses, std::optional<std::vector<std::int64_t>> degrees,
                      const std::optional<std::string>& kernel, std::optional<Runtime> runtime) {
  CompareScope scope;
  scope.balancers = balancer_list(balancers);
  scope.ulysses = ulysses;
  scope.kernel = kernel.value_or("");
  scope.runtime = runtime;
  if (degrees) scope.ulysses_degrees = *degrees;
  return scope;
}

nb::object compare(const PyWorkload& w, std::int64_t world_size, const std::string& hardware, std::int64_t block_size, bool backward,
                   std::optional<std::string> kernel, std::optional<std::string> runtime, std::optional<std::vector<std::string>> balancers,
                   bool ulysses, std::optional<std::vector<std::int64_t>> ulysses_degrees) {
  const Request r{world_size, block_size, hardware_profile(hardware), backward, kernel.value_or("")};
  raise_if_error(check_kernel_name(*r.profile, r.kernel));
  const std::optional<Runtime> filter = runtime_filter(runtime);
  const Comparison c = run_compare(w, r, scope_of(balancers, ulysses, ulysses_degrees, kernel, filter));
  Json j;
  {
    const nb::gil_scoped_release unlocked;
    j = comparison_json(c, {w.source, world_size, hardware, backward, runtime.value_or("any")}, *r.profile);
  }
  return to_python(j);
}

PyPlan choose(const PyWorkload& w, std::int64_t world_size, std::optional<std::string> runtime, const std::string& hardware,
              std::int64_t block_size, bool backward, std::optional<std::string> kernel, std::optional<std::vector<std::string>> balancers,
              bool ulysses, std::optional<std::vector<std::int64_t>> ulysses_degrees) {
  const Request r{world_size, block_size, hardware_profile(hardware), backward, kernel.value_or("")};
  raise_if_error(check_kernel_name(*r.profile, r.kernel));
  const std::optional<Runtime> filter = runtime_filter(runtime);
  // PyTorch runs no Ulysses family: leave them out of the search rather than simulate and drop them.
  const bool with_ulysses = ulysses && (!filter || *filter != Runtime::kPyTorch);
  CompareScope scope = scope_of(balancers, with_ulysses, ulysses_degrees, kernel, filter);
  scope.keep_best_plan = true;
  Comparison c = run_compare(w, r, scope);
  if (c.ranked.empty()) {
    std::string why = c.invalid.empty() ? "no candidate" : c.invalid.front().reason;
    throw Error("--world-size: no candidate" + std::string(filter ? " that " + std::string(runtime_name(*filter)) + " runs" : "") +
                " can run this workload at W = " + std::to_string(world_size) + " (first refusal: " + why + ")" +
                nearest_world_sizes_text(w.workload, world_size, r.profile->max_gpus()));
  }
  return with_runtime(std::move(*c.best_plan), r.profile.get());
}

nb::object simulate_plan(const PyPlan& p, std::optional<std::string> strategy_text_arg, std::optional<std::string> hardware, bool backward,
                         std::optional<std::string> kernel) {
  std::optional<Strategy> s = strategy_arg(strategy_text_arg);
  if (!s && p.plan.strategy) s = *p.plan.strategy;
  const auto profile = hardware_profile(hardware.value_or(p.plan.hardware.empty() ? kDefaultHardware : p.plan.hardware));
  raise_if_error(check_kernel_name(*profile, kernel.value_or("")));
  Result<Json> out = bad_input("");
  {
    const nb::gil_scoped_release unlocked;
    out = [&]() -> Result<Json> {
      CPSIM_ASSIGN_OR_RETURN(const Simulation sim, simulate_for_plan(p.plan, s, *profile, backward, kernel.value_or("")));
      return simulation_json(sim, p.plan, *profile);
    }();
  }
  return to_python(value_or_raise(std::move(out)));
}

}  // namespace

void bind_planning(nb::module_& m) {
  m.def("plan", &plan, nb::arg("workload"), nb::arg("world_size"), nb::arg("balancer") = nb::none(), nb::kw_only(),
        nb::arg("block_size") = 128, nb::arg("hardware") = kDefaultHardware, nb::arg("strategy") = nb::none(),
        nb::arg("runtime") = nb::none(), nb::arg("kernel") = nb::none(), nb::arg("backward") = false, nb::arg("predict") = true,
        "Splits the workload over world_size ranks with one balancer (default head_tail, PyTorch's) and, with predict, attaches\n"
        "a prediction on `hardware`: the given `strategy` (as compare prints it), or the fastest strategy for this balancer\n"
        "(only what `runtime` runs: 'pytorch' or 'cpsim'). Returns a Plan; raises cpsim.Error as the CLI's `plan` would.");
  m.def("compare", &compare, nb::arg("workload"), nb::arg("world_size"), nb::kw_only(), nb::arg("hardware") = kDefaultHardware,
        nb::arg("block_size") = 128, nb::arg("backward") = false, nb::arg("kernel") = nb::none(), nb::arg("runtime") = nb::none(),
        nb::arg("balancers") = nb::none(), nb::arg("ulysses") = true, nb::arg("ulysses_degrees") = nb::none(),
        "Every balancer under every strategy and kernel, ranked by predicted step time: a dict with the fields of\n"
        "`cpsim compare --json` ('ranked', 'invalid', 'best_pytorch', 'best_cpsim', 'why', 'model_error', ...).\n"
        "balancers: None (all), ['pytorch'] (PyTorch's own) or names; runtime: None, 'pytorch' or 'cpsim'.");
  m.def("choose", &choose, nb::arg("workload"), nb::arg("world_size"), nb::kw_only(), nb::arg("runtime") = nb::none(),
        nb::arg("hardware") = kDefaultHardware, nb::arg("block_size") = 128, nb::arg("backward") = false, nb::arg("kernel") = nb::none(),
        nb::arg("balancers") = nb::none(), nb::arg("ulysses") = true, nb::arg("ulysses_degrees") = nb::none(),
        "The fastest candidate's Plan (with runtime='pytorch': the fastest plan PyTorch CP runs, through\n"
        "cpsim.torch.load_balancer), its prediction attached. What `cpsim batch` does per line.");
  m.def("simulate", &simulate_plan, nb::arg("plan"), nb::arg("strategy") = nb::none(), nb::kw_only(), nb::arg("hardware") = nb::none(),
        nb::arg("backward") = false, nb::arg("kernel") = nb::none(),
        "Simulates a plan under a strategy (default: the plan's own, else the fastest for its balancer) on `hardware`\n"
        "(default: the plan's): a dict with the fields of `cpsim simulate --json` (step_us, per_rank, explain, ...).");
  m.def("balancers", [] {
    std::vector<std::string> out;
    for (const auto& b : balancer_registry()) out.emplace_back(b->name());
    return out;
  }, "The balancer names, PyTorch's and cpsim's.");
  m.def("pytorch_balancers", [] {
    std::vector<std::string> out;
    for (const auto& b : balancer_registry()) {
      if (b->from_pytorch()) out.emplace_back(b->name());
    }
    return out;
  }, "The balancers PyTorch CP ships (bit-exact with its _generate_indices).");
  m.def("mask_kinds", [] {
    std::vector<std::string> out;
    for (const MaskKind k : all_mask_kinds()) out.emplace_back(mask_kind_name(k));
    return out;
  });
  m.def("hardware_dir", &hardware_dir, "Where hardware profiles are found by name ($CPSIM_DATA_DIR/hardware).");
}

}  // namespace cpsim::py
