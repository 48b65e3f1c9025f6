// `cpsim kernels`: the attention kernels of a profile, the paths that can call each, and every constant with
// its source (estimates marked).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "core/json_fields.h"
#include "sim/path.h"
#include "sim/strategy_rules.h"

namespace cpsim::cli {
namespace {

struct KernelsOptions {
  std::string hardware = "h100-sxm-8x";
  bool json = false;
};

// "sdpa_ring (default), ..." : the paths that can call `k`, marking those whose default it is.
std::string callers(const HardwareProfile& hw, const KernelSpec& k) {
  std::string out;
  for (const auto& path : path_registry()) {
    if (!path->accepts(k.interface)) continue;
    const auto kernels = path_kernels(hw, path->path());
    out += (out.empty() ? "" : ", ") + std::string(path->name()) + (!kernels.empty() && kernels.front() == &k ? " (default)" : "");
  }
  return out.empty() ? "no path" : out;
}

std::string tile_text(const KernelConstants& c) {
  return c.tile_q == 0 ? "plan's block" : std::to_string(c.tile_q) + "x" + std::to_string(c.tile_k);
}

Json sourced_json(const Sourced& s) { return {{"value", s.value}, {"source", s.source}, {"estimate", s.estimate}}; }

int run_kernels(const KernelsOptions& o) {
  auto hw = find_hardware_profile(o.hardware);
  if (!hw) return report(hw.error());
  if (o.json) {
    Json out = Json::array();
    for (const KernelSpec& k : hw->kernels) {
      Json passes = Json::object();
      for (const bool backward : {false, true}) {
        const KernelPass& p = k.pass(backward);
        Json h = Json::object();
        for (std::size_t i = 0; i < kKernelHeadDims.size(); ++i) {
          const KernelConstants& c = p.by_hdim[i];
          h["hdim" + std::to_string(kKernelHeadDims[i])] = {{"tile", c.tile_q == 0 ? Json("block") : Json::array({c.tile_q, c.tile_k})},
                                                            {"efficiency", sourced_json(c.efficiency)},
                                                            {"cta_overhead_tiles", sourced_json(c.cta_overhead_tiles)},
                                                            {"partial_tile_cost", sourced_json(c.partial_tile_cost)}};
        }
        Json pass = {{"launch_us", sourced_json(p.launch_us)}, {"by_head_dim", h}};
        if (backward) pass["extra_bytes_per_element"] = sourced_json(p.extra_bytes_per_element);
        passes[backward ? "backward" : "forward"] = pass;
      }
      out.push_back({{"name", k.name}, {"interface", interface_name(k.interface)}, {"called_by", callers(*hw, k)},
                     {"description", k.description}, {"estimated", k.estimated()}, {"forward", passes["forward"]}, {"backward", passes["backward"]}});
    }
    std::cout << json_text(Json{{"hardware", hw->name}, {"kernels_from", hw->kernels_from}, {"kernels", out}}, 2) << "\n";
    return 0;
  }
  std::cout << "kernels of " << hw->name << " (" << hw->gpu_model << ", " << fixed(hw->peak_bf16_tflops, 1) << " TFLOP/s dense bf16, "
            << hw->sm_count << " SMs)" << (hw->kernels_from.empty() ? "" : ", as in " + hw->kernels_from) << "\n"
            << "time of a CTA = (CTA overhead + full tiles + partial cost x partial tiles) x a full tile at `efficiency` of an SM's peak;\n"
            << "a call = launch + max(all CTAs spread over the SMs, the longest CTA) + backward's extra kernels. * marks an estimate.\n";
  for (const KernelSpec& k : hw->kernels) {
    std::cout << "\n" << k.name << " (" << interface_name(k.interface) << "; called by " << callers(*hw, k) << ")"
              << (k.estimated() ? " [every constant an estimate]" : "") << "\n";
    if (!k.description.empty()) std::cout << "  " << k.description << "\n";
    std::vector<std::string> sources;
    auto mark = [&](const Sourced& s, const std::string& text) {
      std::size_t n = 0;
      while (n < sources.size() && sources[n] != s.source) ++n;
      if (n == sources.size()) sources.push_back(s.source);
      return text + (s.estimate ? "*" : "") + " [" + std::to_string(n + 1) + "]";
    };
    Table t({"pass", "head dim", "tile", "efficiency", "CTA overhead (tiles)", "partial tile cost", "launch us"},
            {true, false, false, false, false, false, false});
    for (const bool backward : {false, true}) {
      const KernelPass& p = k.pass(backward);
      for (std::size_t i = 0; i < kKernelHeadDims.size(); ++i) {
        const KernelConstants& c = p.by_hdim[i];
        t.add_row({backward ? "backward" : "forward", std::to_string(kKernelHeadDims[i]), tile_text(c), mark(c.efficiency, fixed(c.efficiency.value, 3)),
                   mark(c.cta_overhead_tiles, fixed(c.cta_overhead_tiles.value, 2)), mark(c.partial_tile_cost, fixed(c.partial_tile_cost.value, 2)),
                   i == 0 ? mark(p.launch_us, fixed(p.launch_us.value, 1)) : ""});
      }
    }
    std::cout << t.render() << "  backward's extra kernels: " << fixed(k.backward.extra_bytes_per_element.value, 1)
              << " HBM bytes per query, head and head-dim element " << mark(k.backward.extra_bytes_per_element, "") << "\n";
    for (std::size_t n = 0; n < sources.size(); ++n) std::cout << "  [" << n + 1 << "] " << sources[n] << "\n";
  }
  return 0;
}

}  // namespace

Command add_kernels_command(CLI::App& root) {
  auto o = std::make_shared<KernelsOptions>();
  CLI::App* sub = root.add_subcommand("kernels", "List a profile's attention kernels with their constants and sources");
  sub->footer("Example:\n  cpsim kernels --hardware h100-sxm-8x");
  sub->add_option("--hardware", o->hardware, "Profile name in data/hardware/ or a file path")->capture_default_str();
  sub->add_flag("--json", o->json, "Print the kernels as JSON");
  return {sub, [o] { return run_kernels(*o); }};
}

}  // namespace cpsim::cli
