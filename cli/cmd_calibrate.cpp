// `cpsim calibrate`: fit a hardware profile's kernel and link constants to MEASURED.json files and write
// the calibrated profile, reporting the model's error before and after.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "core/json_fields.h"
#include "sim/calibrate.h"

namespace cpsim::cli {
namespace {

struct CalibrateOptions {
  std::vector<std::string> measurements;
  std::string hardware = "h100-sxm-8x";
  std::string out;
  std::string name;
};

int run_calibrate(const CalibrateOptions& o) {
  std::vector<Measurement> all;
  for (const std::string& path : o.measurements) {
    auto m = load_measurement(path);
    if (!m) return report(m.error());
    all.push_back(std::move(*m));
  }
  auto hw = find_hardware_profile(o.hardware);
  if (!hw) return report(hw.error());
  if (auto ok = check_output_path(o.out); !ok) return report(ok.error());
  auto c = calibrate(all, *hw, o.measurements);
  if (!c) return report(c.error());
  const std::string name = o.name.empty() ? hw->name + "-calibrated" : o.name;
  const std::string provenance = std::to_string(c->compute.samples) + " compute and " + std::to_string(c->comm.samples) +
                                 " communication samples from " + std::to_string(all.size()) + " measurement(s) on " +
                                 all.front().device;
  auto doc = calibrated_profile_json(*hw, *c, name, provenance);
  if (!doc) return report(doc.error());
  if (auto ok = write_file_atomically(o.out, doc->dump(2) + "\n"); !ok) return report(ok.error());
  Table t({"model", "samples", "RMS error before", "RMS error after"}, {true, false, false, false});
  t.add_row({"compute (per kernel call)", std::to_string(c->compute.samples), percent(c->rms_error_before_compute),
             percent(c->compute.rms_relative_error)});
  if (c->backward_samples > 0) {
    t.add_row({"backward compute (per kernel call)", std::to_string(c->backward_samples), percent(c->rms_error_before_backward),
               percent(c->rms_error_after_backward)});
  }
  if (c->comm_note.empty()) {
    t.add_row({"communication (per hop)", std::to_string(c->comm.samples), percent(c->rms_error_before_comm),
               percent(c->comm.rms_relative_error)});
  }
  std::cout << t.render() << "\nfitted: kernel launch " << fixed(c->kernel_launch_us, 2) << " us, forward efficiency x"
            << fixed(c->fwd_efficiency_scale, 4) << " of " << hw->name << "'s"
            << (c->backward_samples > 0 ? ", backward efficiency x" + fixed(c->bwd_efficiency_scale, 4) : std::string())
            << ", partial-tile overhead "
            << fixed(c->partial_tile_overhead_fraction, 3) << ", link " << fixed(c->p2p_bandwidth_gb_s, 3) << " GB/s + "
            << fixed(c->latency_us, 2) << " us" << (c->comm_note.empty() ? "" : " (" + c->comm_note + ")")
            << "\nprofile written to " << o.out << " (name " << name << ")\n";
  return 0;
}

}  // namespace

Command add_calibrate_command(CLI::App& root) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* sub = root.add_subcommand("calibrate", "Fit a hardware profile's constants to measurements");
  sub->add_option("measurements", o->measurements, "MEASURED.json files from cpsim execute")->required()->check(non_empty_path());
  sub->add_option("--hardware", o->hardware, "The profile to start from (name or file)")->capture_default_str();
  sub->add_option("--out,-o", o->out, "Where to write the calibrated profile")->required()->check(non_empty_path());
  sub->add_option("--name", o->name, "Name of the new profile (default: <profile>-calibrated)");
  return {sub, [o] { return run_calibrate(*o); }};
}

}  // namespace cpsim::cli
