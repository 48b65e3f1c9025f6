// `cpsim calibrate`: fit a hardware profile's kernel constants and link curves to MEASURED.json files (or to the
// fit split of the published measurements, --published) and write the calibrated profile, reporting the model's
// error before and after on the samples.
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "core/json_fields.h"
#include "sim/calibrate.h"
#include "sim/validation.h"

namespace cpsim::cli {
namespace {

struct CalibrateOptions {
  std::vector<std::string> measurements;
  std::string published;  // a validation folder: fit its fit split instead of measurements
  bool published_given = false;
  std::string hardware = "h100-sxm-8x";
  std::string out;
  std::string name;
};

std::string value_text(const FittedValue& v, int decimals) { return fixed(v.value, decimals) + (v.fitted ? "" : " (kept)"); }

void print_calibration(const Calibration& c) {
  Table t({"kernel", "pass", "samples", "RMS error before", "RMS error after", "launch us"}, {true, true, false, false, false, false});
  for (const FittedKernelPass& f : c.kernels) {
    t.add_row({f.kernel, f.backward ? "backward" : "forward", std::to_string(f.samples), percent(f.rms_before), percent(f.rms_after),
               value_text(f.launch_us, 2)});
  }
  std::cout << t.render();
  Table h({"kernel", "pass", "head dim", "samples", "efficiency", "CTA overhead (tiles)", "partial tile cost"}, {true, true, false, false, false, false, false});
  for (const FittedKernelPass& f : c.kernels) {
    for (const FittedHeadDim& d : f.head_dims) {
      h.add_row({f.kernel, f.backward ? "backward" : "forward", std::to_string(d.head_dim), std::to_string(d.samples), value_text(d.efficiency, 3),
                 value_text(d.cta_overhead_tiles, 2), value_text(d.partial_tile_cost, 2)});
    }
  }
  std::cout << "\n" << h.render();
  if (!c.comm.empty()) {
    Table l({"nvlink", "samples", "RMS error before", "RMS error after", "floor us", "latency us", "busbw GB/s"}, {true, false, false, false, false, false, false});
    for (const FittedComm& f : c.comm) {
      l.add_row({std::string(comm_op_name(f.op)), std::to_string(f.samples), percent(f.rms_before), percent(f.rms_after), value_text(f.floor_us, 2),
                 value_text(f.latency_us, 2), value_text(f.busbw_gb_s, 1)});
    }
    std::cout << "\n" << l.render();
  } else {
    std::cout << "\n" << c.comm_note << "\n";
  }
  std::cout << "(kept: the samples do not pin that constant down, so it keeps the starting profile's value and source)\n";
}

int run_calibrate(const CalibrateOptions& o) {
  if (o.published_given == !o.measurements.empty()) {
    return report(bad_input(o.published_given ? "--published: fits the published measurements instead of MEASURED.json files; give one or the other"
                                              : "calibrate: give MEASURED.json files, or --published to fit the published measurements"));
  }
  auto hw = find_hardware_profile(o.hardware);
  if (!hw) return report(hw.error());
  if (auto ok = check_output_path(o.out); !ok) return report(ok.error());
  Result<Calibration> c = bad_input("");
  std::string provenance;
  std::vector<ValidationPoint> points;
  if (o.published_given) {
    const std::string dir = o.published.empty() ? validation_dir() : o.published;
    auto loaded = load_validation(dir);
    if (!loaded) return report(loaded.error());
    points = std::move(*loaded);
    auto samples = fit_samples_of(points, *hw);
    if (!samples) return report(samples.error());
    if (samples->first.empty() && samples->second.empty()) {
      return report(bad_input("--published: " + dir + " has no fit-split point for " + hw->name));
    }
    c = fit_samples(samples->first, samples->second, *hw, dir);
    // The shipped record by its place in the repository, not this machine's path.
    const std::string shown = o.published.empty() ? "data/validation" : o.published;
    provenance = "cpsim calibrate --published on the fit split of " + shown + " (" + std::to_string(samples->first.size()) + " kernel and " +
                 std::to_string(samples->second.size()) + " link measurements, sources in data/validation/)";
  } else {
    std::vector<Measurement> all;
    for (const std::string& path : o.measurements) {
      auto m = load_measurement(path);
      if (!m) return report(m.error());
      all.push_back(std::move(*m));
    }
    c = calibrate(all, *hw, o.measurements);
    if (c) provenance = std::to_string(all.size()) + " measurement(s) on " + all.front().device;
  }
  if (!c) return report(c.error());
  const std::string name = !o.name.empty() ? o.name : o.published_given ? hw->name : hw->name + "-calibrated";
  auto doc = calibrated_profile_json(*hw, *c, name, provenance);
  if (!doc) return report(doc.error());
  if (o.published_given) {
    // What validate will say of the new profile: its check split, recorded in it (a test keeps the two equal).
    auto fitted = hardware_profile_from_json(*doc, o.out);
    if (!fitted) return report(fitted.error());
    std::map<std::string, HardwareProfile> profiles;
    profiles.emplace(hw->name, std::move(*fitted));
    auto results = predict_points(points, hw->name, profiles);
    if (!results) return report(results.error());
    const SplitStats check = split_stats(*results, Split::kCheck);
    if (check.points > 0) {
      (*doc)["model_error"] = {{"points", check.points}, {"median", check.median}, {"p90", check.p90}, {"command", "cpsim validate --hardware " + hw->name}};
    }
    std::cout << "check split of " << hw->name << " with the fitted constants: " << check.points << " points, median |error| "
              << percent(check.median) << ", p90 " << percent(check.p90) << ", max " << percent(check.max) << "\n\n";
  }
  if (auto ok = write_file_atomically(o.out, doc->dump(2) + "\n"); !ok) return report(ok.error());
  print_calibration(*c);
  std::cout << "\nprofile written to " << o.out << " (name " << name << ")\n";
  return 0;
}

}  // namespace

Command add_calibrate_command(CLI::App& root) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* sub = root.add_subcommand("calibrate", "Fit a hardware profile's kernel and link constants to measurements");
  sub->add_option("measurements", o->measurements, "MEASURED.json files from cpsim execute or scripts/gpu-check.sh")->check(non_empty_path());
  CLI::Option* published = sub->add_option("--published", o->published,
                                           "Fit the fit split of the published measurements instead (a data/validation folder; "
                                           "without one: the shipped one)")
                               ->expected(0, 1);
  sub->add_option("--hardware", o->hardware, "The profile to start from (name or file)")->capture_default_str();
  sub->add_option("--out,-o", o->out, "Where to write the calibrated profile")->required()->check(non_empty_path());
  sub->add_option("--name", o->name, "Name of the new profile (default: <profile>-calibrated; with --published the profile's own)");
  return {sub, [o, published] {
            o->published_given = published->count() > 0;
            return run_calibrate(*o);
          }};
}

}  // namespace cpsim::cli
