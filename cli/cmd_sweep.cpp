// `cpsim sweep`: which CP degree W to use. Per W, the best plan PyTorch can run and the best overall, their step
// time, tokens/s per GPU and scaling, exposed communication and memory per GPU; then the W to recommend.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/fidelity.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "cli/workload_text.h"
#include "core/json_fields.h"
#include "core/limits.h"
#include "core/workload_json.h"
#include "sim/report_json.h"
#include "sim/sweep.h"

namespace cpsim::cli {
namespace {

struct SweepCliOptions {
  std::string workload;
  std::vector<std::string> world_sizes;
  std::vector<std::string> ulysses_degrees;
  std::string hardware = "h100-sxm-8x";
  std::int64_t block_size = 128;
  bool backward = false;
  bool no_ulysses = false;
  std::string kernel;
  std::string runtime = "any";
  std::int64_t layers = 0;
  double reserve_gib = 0;
  std::string csv;
  bool json = false;
};

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

Result<std::vector<std::int64_t>> int_list(const std::vector<std::string>& items, const std::string& flag, std::int64_t hi) {
  std::vector<std::int64_t> out;
  for (const std::string& item : items) {
    std::string text = item;
    if (const std::string why = decimal(1, hi)(text); !why.empty()) return bad_input(flag + ": " + why);
    out.push_back(std::stoll(item));
  }
  return out;
}

std::string tokens_text(double per_s) {
  if (per_s >= 1e6) return fixed(per_s / 1e6, 2) + "M";
  if (per_s >= 1e3) return fixed(per_s / 1e3, 1) + "k";
  return fixed(per_s, 0);
}

Json pick_json(const SweepPick& p) {
  const Candidate& c = p.candidate;
  return {{"strategy", strategy_text(c.strategy)}, {"runtime", runtime_name(c.runtime.runtime)}, {"runtime_note", c.runtime.how},
          {"step_us", c.metrics.step_us}, {"tokens_per_s_per_gpu", p.tokens_per_s_per_gpu}, {"scaling_efficiency", p.scaling_efficiency},
          {"max_exposed_comm_us", c.metrics.max_exposed_comm_us}, {"memory_bytes", p.memory_bytes}, {"fits", p.fits}};
}

Json sweep_json(const Sweep& s, const SweepCliOptions& o, const HardwareProfile& hw) {
  Json rows = Json::array();
  for (const SweepRow& r : s.rows) {
    Json row = {{"world_size", r.world_size}, {"nodes", r.nodes}};
    if (!r.error.empty()) row["error"] = r.error;
    row["pytorch"] = r.pytorch ? pick_json(*r.pytorch) : Json(nullptr);
    row["best"] = r.best ? pick_json(*r.best) : Json(nullptr);
    rows.push_back(std::move(row));
  }
  auto opt = [](const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); };
  return {{"workload", o.workload}, {"hardware", hw.name}, {"backward", o.backward}, {"layers", o.layers},
          {"gpu_memory_bytes", s.gpu_memory_bytes}, {"reserve_bytes", o.reserve_gib * kGiB}, {"model_error", model_error_json(hw)},
          {"rows", rows}, {"smallest_fitting_world_size", opt(s.smallest_fitting)},
          {"best_pytorch_world_size", opt(s.best_pytorch_per_gpu)}, {"best_world_size", opt(s.best_per_gpu)}};
}

const SweepRow* row_of(const Sweep& s, std::int64_t w) {
  for (const SweepRow& r : s.rows) {
    if (r.world_size == w) return &r;
  }
  return nullptr;
}

void print_sweep(const Sweep& s, const Workload& w, const SweepCliOptions& o, const HardwareProfile& hw) {
  std::cout << describe_workload(w, o.workload) << "\n"
            << "on " << hw.name << " (" << hw.gpu_model << ", " << fixed(hw.hbm_gb, 0) << " GB; " << hw.gpus_per_node << " GPUs per node"
            << (hw.infiniband.present ? std::string(": a larger W means more nodes, InfiniBand between them") +
                                    (hw.max_nodes > 0 ? ", up to " + std::to_string(hw.max_nodes) : std::string())
                              : std::string(", one node only"))
            << "), " << (o.backward ? "forward + backward" : "forward") << " attention\n\n";
  double top = 0;
  for (const SweepRow& r : s.rows) {
    for (const auto* p : {&r.pytorch, &r.best}) {
      if (*p) top = std::max(top, (*p)->tokens_per_s_per_gpu);
    }
  }
  Table table({"W", "nodes", "pick", "strategy", "runs on", "step ms", "tokens/s per GPU", "", "scaling", "exposed comm ms", "memory GB", "fits"},
              {false, false, true, true, true, false, false, true, false, false, false, true});
  for (const SweepRow& r : s.rows) {
    const std::string w_text = std::to_string(r.world_size), nodes = std::to_string(r.nodes);
    if (!r.error.empty()) {
      table.add_row({w_text, nodes, "-", "cannot run: " + r.error, "", "", "", "", "", "", "", ""});
      continue;
    }
    bool first = true;
    auto add = [&](const char* label, const SweepPick& p) {
      const Candidate& c = p.candidate;
      table.add_row({first ? w_text : "", first ? nodes : "", label, strategy_text(c.strategy), std::string(runtime_name(c.runtime.runtime)),
                     millis(c.metrics.step_us), tokens_text(p.tokens_per_s_per_gpu), bar(p.tokens_per_s_per_gpu, top, 12),
                     fixed(p.scaling_efficiency, 2), millis(c.metrics.max_exposed_comm_us), fixed(p.memory_bytes / 1e9, 2),
                     p.fits ? "yes" : "no"});
      first = false;
    };
    if (r.pytorch) add("pytorch", *r.pytorch);
    if (r.best && (!r.pytorch || strategy_text(r.best->candidate.strategy) != strategy_text(r.pytorch->candidate.strategy))) add("best", *r.best);
    if (!r.pytorch) table.add_row({"", "", "pytorch", "none of the candidates", "", "", "", "", "", "", "", ""});
  }
  std::cout << table.render() << "\n";
  std::cout << "tokens/s per GPU: rows x seq_len / attention's step time / W; scaling: per-GPU throughput against the smallest W;\n"
            << "memory: attention's peak working set"
            << (o.layers > 0 ? " + activations of " + std::to_string(o.layers) + " layers (34 bytes per token per hidden unit per layer, Korthikanti et al. 2022)"
                             : std::string(" (give --layers L to add the model's activations)"))
            << (o.reserve_gib > 0 ? ", with " + fixed(o.reserve_gib, 1) + " GiB reserved" : std::string()) << "\n\n";
  if (s.smallest_fitting) {
    std::cout << "smallest W that fits in " << fixed(hw.hbm_gb, 0) << " GB per GPU: " << *s.smallest_fitting << "\n";
  } else {
    bool any = false;
    for (const SweepRow& r : s.rows) any = any || r.best.has_value();
    if (!any) {
      std::cout << "no W of the sweep can run this workload (the reasons are in the table)\n";
    } else if (o.reserve_gib * kGiB >= s.gpu_memory_bytes) {
      std::cout << "nothing fits: --reserve-gib " << fixed(o.reserve_gib, 1) << " is more than the " << fixed(hw.hbm_gb, 0) << " GB per GPU\n";
    } else {
      std::cout << "no W of the sweep fits in " << fixed(hw.hbm_gb, 0) << " GB per GPU: try a larger W (memory per GPU falls as 1/W)\n";
    }
  }
  if (s.best_pytorch_per_gpu) {
    const SweepPick& p = *row_of(s, *s.best_pytorch_per_gpu)->pytorch;
    std::cout << "most tokens/s per GPU PyTorch can run, of the W that fit: W = " << *s.best_pytorch_per_gpu << ", " << strategy_text(p.candidate.strategy) << " ("
              << tokens_text(p.tokens_per_s_per_gpu) << " tokens/s per GPU)\n";
  }
  if (s.best_per_gpu) {
    const SweepPick& p = *row_of(s, *s.best_per_gpu)->best;
    std::cout << "most tokens/s per GPU overall, of the W that fit: W = " << *s.best_per_gpu << ", " << strategy_text(p.candidate.strategy) << " ("
              << runtime_name(p.candidate.runtime.runtime) << ", " << tokens_text(p.tokens_per_s_per_gpu) << " tokens/s per GPU)\n";
  }
  std::cout << fidelity_line(hw) << "\n";
}

int run_sweep(const SweepCliOptions& o) {
  auto workload = load_workload(o.workload);
  if (!workload) return report(workload.error());
  if (!o.csv.empty()) {
    if (auto ok = check_output_path(o.csv); !ok) return report(ok.error());
  }
  auto hw = find_hardware_profile(o.hardware);
  if (!hw) return report(hw.error());
  SweepOptions so;
  auto sizes = int_list(o.world_sizes, "--world-sizes", kMaxWorldSize);
  if (!sizes) return report(sizes.error());
  so.world_sizes = *sizes;
  auto degrees = int_list(o.ulysses_degrees, "--ulysses-degrees", kMaxWorldSize);
  if (!degrees) return report(degrees.error());
  so.scope.ulysses_degrees = *degrees;
  so.scope.ulysses = !o.no_ulysses;
  so.scope.kernel = o.kernel;
  if (auto ok = check_kernel_name(*hw, o.kernel); !ok) return report(ok.error());
  auto runtime = parse_runtime_filter(o.runtime);
  if (!runtime) return report(runtime.error());
  so.scope.runtime = *runtime;
  so.block_size = o.block_size;
  so.backward = o.backward;
  so.layers = o.layers;
  so.reserve_bytes = o.reserve_gib * kGiB;
  auto sweep = sweep_world_sizes(*workload, o.workload, *hw, so);
  if (!sweep) return report(sweep.error());
  if (!o.csv.empty()) {
    if (auto ok = write_file_atomically(o.csv, sweep_csv(*sweep)); !ok) return report(ok.error());
  }
  if (o.json) {
    std::cout << json_text(sweep_json(*sweep, o, *hw), 2) << "\n";
  } else {
    print_sweep(*sweep, *workload, o, *hw);
  }
  return 0;
}

}  // namespace

Command add_sweep_command(CLI::App& root) {
  auto o = std::make_shared<SweepCliOptions>();
  CLI::App* sub = root.add_subcommand("sweep", "Choose the CP degree: the best plan per world size W, its throughput per GPU and memory");
  sub->footer("Example:\n  cpsim sweep data/workloads/doc-lognormal-1m.json --world-sizes 8,16,32,64 --layers 32");
  sub->add_option("workload", o->workload, "WORKLOAD.json")->required()->check(non_empty_path());
  sub->add_option("--world-sizes", o->world_sizes, "World sizes W to compare, comma-separated")->required()->delimiter(',');
  sub->add_option("--ulysses-degrees", o->ulysses_degrees,
                  "Ulysses degrees U of the hybrids to try, comma-separated (W itself: pure Ulysses; default: the largest that fits)")
      ->delimiter(',');
  sub->add_option("--hardware", o->hardware, "Profile name in data/hardware/ or a file path (W beyond a node: more nodes of it)")->capture_default_str();
  sub->add_option("--block-size", o->block_size, "Tile size T")->capture_default_str()->check(decimal());
  sub->add_flag("--backward", o->backward, "Rank by forward + backward time");
  sub->add_flag("--no-ulysses", o->no_ulysses, "Leave out the Ulysses families");
  sub->add_option("--kernel,-k", o->kernel, "Only strategies on this attention kernel");
  sub->add_option("--runtime", o->runtime, "Best overall among what this runs: pytorch, cpsim or any")->capture_default_str();
  sub->add_option("--layers", o->layers, "Transformer layers, to add their activations to the memory per GPU (0: attention only)")
      ->capture_default_str()
      ->check(decimal(0, 100000));
  sub->add_option("--reserve-gib", o->reserve_gib, "Memory per GPU held by weights, optimizer and framework, GiB")
      ->capture_default_str()
      ->check(finite(0, 1e6));
  sub->add_option("--csv", o->csv, "Write the sweep as CSV")->check(non_empty_path());
  sub->add_flag("--json", o->json, "Print the sweep as JSON");
  return {sub, [o] { return run_sweep(*o); }};
}

}  // namespace cpsim::cli
