// `cpsim calibrate`: fit a hardware profile's kernel constants and link curves to MEASURED.json files (or to the
// fit split of the published measurements, --published) and write the calibrated profile, reporting the model's
// error before and after on the samples, how well each group is determined, and what looks wrong (--strict refuses).
#include <cmath>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "core/file_io.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "core/json_fields.h"
#include "core/plan.h"
#include "core/text_format.h"
#include "core/workload_json.h"
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
  bool strict = false;
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

std::string signed_percent(double fraction) { return (fraction >= 0 ? "+" : "") + percent(fraction); }

// "m1.json (2, 5) +12.0%, m3.json (0, 1) -9.1%": the worst samples, where they came from, and their error.
std::string worst_text(const FitQuality& q, double rms_after) {
  if (rms_after <= 0) return "-";
  std::string text;
  for (std::size_t i = 0; i < std::min<std::size_t>(2, q.worst.size()); ++i) {
    const WorstSample& w = q.worst[i];
    text += std::string(i ? ", " : "") + (w.origin.empty() ? "a sample" : w.origin);
    if (w.rank >= 0) text += " (" + std::to_string(w.rank) + ", " + std::to_string(w.step) + ")";
    text += " " + signed_percent(w.error);
  }
  return text;
}

std::string condition_text(const FitQuality& q) {
  if (q.condition == 0) return "-";
  return std::isfinite(q.condition) ? format_number(q.condition, "%.3g") : std::string("infinite");
}

std::string least_text(const FitQuality& q) {
  return q.worst_relative_name.empty() ? "-" : "+-" + percent(q.worst_relative_error, 0) + " " + q.worst_relative_name;
}

// "a, b and c"
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  return out;
}

// Constants kept at their starting values, one line per constant: "launch_us <label> in cpu forward (1 us) and ...:
// what would determine it".
void print_kept(const std::vector<const CalibrationWarning*>& kept, const std::string& label) {
  std::vector<std::string> constants;  // in order of appearance
  std::map<std::string, std::vector<std::string>> where;
  std::map<std::string, std::string> advice;
  for (const CalibrationWarning* w : kept) {
    if (!where.contains(w->constant)) constants.push_back(w->constant);
    const auto at = w->detail.find("starting ");  // "kept at its starting 3 us": "3 us"
    where[w->constant].push_back(w->group + " (" + (at == std::string::npos ? w->detail : w->detail.substr(at + 9)) + ")");
    advice[w->constant] = w->advice;
  }
  for (const std::string& c : constants) std::cout << "  " << c << " " << label << " in " << joined(where[c]) << ": " << advice[c] << "\n";
}

// The warnings, those alike on one line: the device, too few samples, poor fits, constants far from their start,
// ill-conditioned groups, and by constant those not determined (with their kept values), each with what would determine it.
void print_warnings(const std::vector<CalibrationWarning>& warnings) {
  std::vector<std::string> few;
  std::string few_advice;
  std::vector<const CalibrationWarning*> kept;
  for (const CalibrationWarning& w : warnings) {
    if (w.kind == WarningKind::kFewSamples) {
      few.push_back(w.group + " (" + w.detail + ")");
      few_advice = w.advice;
    }
    if (w.kind == WarningKind::kNotDetermined) kept.push_back(&w);
  }
  for (const CalibrationWarning& w : warnings) {
    if (w.kind == WarningKind::kDevice) std::cout << "  " << w.message() << "\n";
  }
  if (!few.empty()) std::cout << "  too few samples: " << joined(few) << ": " << few_advice << "\n";
  for (const CalibrationWarning& w : warnings) {  // poor fits, far from the start, ill-conditioned (their order in the list)
    if (w.kind == WarningKind::kPoorFit || w.kind == WarningKind::kIllConditioned || w.kind == WarningKind::kFarFromStart) {
      std::cout << "  " << w.message() << "\n";
    }
  }
  print_kept(kept, "not determined, kept at its starting value");
}

// Below the tables: per group how well the samples determine it, then the warnings.
void print_diagnostics(const Calibration& c, bool strict) {
  Table t({"fit", "samples", "unknowns", "condition", "least determined", "RMS error", "worst samples"}, {true, false, false, false, true, false, true});
  for (const FittedKernelPass& f : c.kernels) {
    std::string samples = std::to_string(f.samples), rms = percent(f.rms_after);
    if (f.head_dims.size() > 1) {  // per head dim, in brackets
      std::string per_samples, per_rms;
      for (const FittedHeadDim& d : f.head_dims) {
        per_samples += (per_samples.empty() ? "" : "/") + std::to_string(d.samples);
        per_rms += (per_rms.empty() ? "" : "/") + percent(d.rms_after).substr(0, percent(d.rms_after).size() - 1);
      }
      samples += " (" + per_samples + ")";
      rms += " (" + per_rms + ")";
    }
    t.add_row({f.kernel + " " + (f.backward ? "backward" : "forward"), samples, std::to_string(f.quality.unknowns), condition_text(f.quality),
               least_text(f.quality), rms, worst_text(f.quality, f.rms_after)});
  }
  for (const FittedComm& f : c.comm) {
    t.add_row({"nvlink " + std::string(comm_op_name(f.op)), std::to_string(f.samples), std::to_string(f.quality.unknowns), condition_text(f.quality),
               least_text(f.quality), percent(f.rms_after), worst_text(f.quality, f.rms_after)});
  }
  std::cout << "\nfit diagnostics\n" << t.render()
            << "(condition: of the fitted constants' scaled Jacobian; least determined: the largest standard error of one; (a/b): per head dim;\n"
               " worst samples: file (rank, step) or published point, and the error left after the fit)\n";
  if (!c.notes.empty()) {
    std::vector<const CalibrationWarning*> notes;
    for (const CalibrationWarning& n : c.notes) notes.push_back(&n);
    std::cout << "kept, as the samples hardly see them (no warning):\n";
    print_kept(notes, "kept");
  }
  if (c.warnings.empty()) {
    std::cout << "no warnings: the constants that matter to these samples are determined, well conditioned and near their starting values\n";
    return;
  }
  std::cout << "\n" << c.warnings.size() << " warning" << (c.warnings.size() == 1 ? "" : "s")
            << (strict ? " (--strict: nothing written):\n" : " (the profile is written with them; --strict refuses such a fit):\n");
  print_warnings(c.warnings);
}

// A file that is not a measurement, with what it is when it is a plan or a workload (the usual mix-ups) and the
// command that makes a measurement of it.
Error explained(Error e, const std::string& path) {
  if (load_plan(path)) {
    e.message += " (" + path + " is a plan, not a measurement: make one with cpsim execute " + path + " -o measured.json)";
  } else if (load_workload(path)) {
    e.message += " (" + path + " is a workload, not a measurement: plan it with cpsim plan " + path +
                 " -w W -b BALANCER -o plan.json, then cpsim execute plan.json -o measured.json)";
  }
  return e;
}

// The published samples in the order fit_samples_of makes them (kernel and collective points of the fit split for
// this profile), named by their point id for the diagnostics; left unnamed if the counts disagree.
void name_published_samples(const std::vector<ValidationPoint>& points, const std::string& profile, std::vector<KernelSample>& kernels,
                            std::vector<CommSample>& comm) {
  std::vector<std::string> kernel_names, comm_names;
  for (const ValidationPoint& p : points) {
    if (p.split != Split::kFit || p.hardware != profile) continue;
    const std::string& name = p.id;
    if (p.kind == PointKind::kCollective) comm_names.push_back(name);
    if (p.kind == PointKind::kKernel) kernel_names.push_back(name);
  }
  if (kernel_names.size() == kernels.size()) {
    for (std::size_t i = 0; i < kernels.size(); ++i) kernels[i].origin = kernel_names[i];
  }
  if (comm_names.size() == comm.size()) {
    for (std::size_t i = 0; i < comm.size(); ++i) comm[i].origin = comm_names[i];
  }
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
    name_published_samples(points, hw->name, samples->first, samples->second);
    c = fit_samples(samples->first, samples->second, *hw, dir);
    // The shipped record by its place in the repository, not this machine's path.
    const std::string shown = o.published.empty() ? "data/validation" : o.published;
    provenance = "cpsim calibrate --published on the fit split of " + shown + " (" + std::to_string(samples->first.size()) + " kernel and " +
                 std::to_string(samples->second.size()) + " link measurements, sources in data/validation/)";
  } else {
    std::vector<Measurement> all;
    std::map<std::string, std::string> seen;  // content digest -> file: a copy of a measurement is not a new sample
    for (const std::string& path : o.measurements) {
      auto text = read_input_file(path);
      if (!text) return report(text.error());
      const auto [at, fresh] = seen.emplace(content_digest(*text), path);
      if (!fresh) {
        return report(bad_input(path + ": the same measurement as " + at->second +
                                " (a copy adds no information, and counting it twice would overstate how well the fit is determined)"));
      }
      auto m = load_measurement(path);
      if (!m) return report(explained(m.error(), path));
      all.push_back(std::move(*m));
    }
    c = calibrate(all, *hw, o.measurements);
    if (c) provenance = std::to_string(all.size()) + " measurement(s) on " + all.front().device;
  }
  if (!c) return report(c.error());
  if (o.strict && !c->warnings.empty()) {
    print_diagnostics(*c, true);
    const CalibrationWarning& w = c->warnings.front();
    const std::string where = o.published_given ? (o.published.empty() ? std::string("data/validation") : o.published)
                              : o.measurements.size() == 1 ? o.measurements.front()
                                                           : o.measurements.front() + " and " + std::to_string(o.measurements.size() - 1) + " more";
    const std::string more = c->warnings.size() > 1 ? ", and " + std::to_string(c->warnings.size() - 1) + " more warnings listed above" : "";
    return report(bad_input(where + ": " + w.field + ": " + w.text() + " (--strict: nothing written" + more + ")"));
  }
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
  print_diagnostics(*c, false);
  std::cout << "\nprofile written to " << o.out << " (name " << name << ")\n";
  if (!c->warnings.empty()) {  // also where a redirected report is not read
    std::cerr << "cpsim: warning: the fit has " << c->warnings.size() << " warning" << (c->warnings.size() == 1 ? "" : "s")
              << " (listed under \"fit diagnostics\"); --strict refuses such a fit\n";
  }
  return 0;
}

}  // namespace

Command add_calibrate_command(CLI::App& root) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* sub = root.add_subcommand("calibrate", "Fit a hardware profile's kernel and link constants to measurements");
  sub->footer("Examples:\n  cpsim calibrate measured-*.json --hardware cpu-threads --out cpu-mine.json\n"
              "  cpsim calibrate --published --hardware h100-sxm-8x --out h100-refit.json");
  sub->add_option("measurements", o->measurements, "MEASURED.json files from cpsim execute or scripts/gpu-check.sh")->check(non_empty_path());
  CLI::Option* published = sub->add_option("--published", o->published,
                                           "Fit the fit split of the published measurements instead (a data/validation folder; "
                                           "without one: the shipped one)")
                               ->expected(0, 1);
  sub->add_option("--hardware", o->hardware, "The profile to start from (name or file)")->capture_default_str();
  sub->add_option("--out,-o", o->out, "Where to write the calibrated profile")->required()->check(non_empty_path());
  sub->add_option("--name", o->name, "Name of the new profile (default: <profile>-calibrated; with --published the profile's own)");
  sub->add_flag("--strict", o->strict,
                "Refuse (exit 2, nothing written) a fit with a warning: fewer samples than unknowns, ill-conditioned, a constant "
                "not determined or far from its starting value");
  return {sub, [o, published] {
            o->published_given = published->count() > 0;
            return run_calibrate(*o);
          }};
}

}  // namespace cpsim::cli
