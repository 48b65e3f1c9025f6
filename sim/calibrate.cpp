// Least-squares fits of kernel constants and link curves, from MEASURED.json files or published measurements.
#include "sim/calibrate.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/text_format.h"
#include "sim/least_squares.h"
#include "sim/strategy_rules.h"

namespace cpsim {
namespace {

constexpr double kPriorWeight = 0.05;  // a 20% move of an undetermined constant costs what a 1% misfit of one sample does

double rms(const std::vector<double>& r) {
  double s = 0;
  for (const double x : r) s += x * x;
  return r.empty() ? 0 : std::sqrt(s / static_cast<double>(r.size()));
}

double median_abs(std::vector<double> r) {
  if (r.empty()) return 0;
  for (double& x : r) x = std::abs(x);
  std::sort(r.begin(), r.end());
  const std::size_t n = r.size();
  return n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
}

FitParameter parameter(double start, double lower, double upper, double min_scale) {
  return {start, lower, upper, kPriorWeight, std::max(std::abs(start), min_scale)};
}

FittedValue fitted_value(const FitResult& fit, const std::vector<FitParameter>& params, std::size_t j) {
  return {fit.values[j], fit.determined[j], "", params[j].start, fit.standard_error[j], fit.influence[j]};
}

// Unknowns, conditioning over the fitted ones, their worst relative standard error, and the worst samples.
template <typename Sample>
FitQuality quality_of(const FitResult& fit, const std::vector<FitParameter>& params, const std::vector<std::string>& names,
                      const std::vector<const Sample*>& samples, const std::vector<double>& after) {
  FitQuality q;
  q.unknowns = params.size();
  q.condition = fit.condition;
  for (const std::size_t j : fit.weakest) q.weakest.push_back(names[j]);
  for (std::size_t j = 0; j < params.size(); ++j) {
    if (!fit.determined[j]) continue;
    const double relative = fit.standard_error[j] / std::max(std::abs(fit.values[j]), params[j].scale);
    if (relative > q.worst_relative_error) {
      q.worst_relative_error = relative;
      q.worst_relative_name = names[j];
    }
  }
  std::vector<std::size_t> order(samples.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Worst first; ties (synthetic samples that fit exactly) in sample order, so that the report is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return std::abs(after[a]) > std::abs(after[b]); });
  for (std::size_t i = 0; i < std::min<std::size_t>(3, order.size()); ++i) {
    const Sample& s = *samples[order[i]];
    q.worst.push_back({s.origin, s.rank, s.step, after[order[i]]});
  }
  return q;
}

// Does any sample of this head dim have tiles the mask cuts (enough to see what they cost)?
bool sees_partial_tiles(const std::vector<const KernelSample*>& samples) {
  for (const KernelSample* s : samples) {
    if (s->shape.spread[2] > 0.05 * s->shape.spread[1]) return true;
  }
  return false;
}

Result<FittedKernelPass> fit_kernel_pass(const std::vector<const KernelSample*>& samples, const KernelSpec& spec, bool backward,
                                         const std::vector<FittedKernelPass>& done) {
  const KernelPass& pass = spec.pass(backward);
  // Parameters: the launch, then per head dim present: efficiency, CTA overhead and (where the samples show
  // partial tiles) the partial-tile cost. Otherwise the partial cost is forward's fitted one (backward) or kept.
  std::map<std::size_t, std::vector<const KernelSample*>> by_hdim;
  for (const KernelSample* s : samples) by_hdim[head_dim_index(s->head_dim)].push_back(s);
  std::vector<FitParameter> params = {parameter(pass.launch_us.value, 0, 1e5, 1.0)};
  std::vector<std::string> names = {"launch_us"};  // as the profile names them under the pass
  struct Slots {
    std::size_t efficiency, overhead;
    std::optional<std::size_t> partial;
    double partial_fixed;
    std::string partial_from;  // where partial_fixed came from, when not the starting profile
  };
  std::map<std::size_t, Slots> slots;
  for (const auto& [h, group] : by_hdim) {
    const KernelConstants& k = pass.by_hdim[h];
    Slots s{params.size(), params.size() + 1, std::nullopt, k.partial_tile_cost.value, ""};
    // Above 1 where the device outruns its starting profile's peak: the written profile moves the excess into the peak.
    params.push_back(parameter(k.efficiency.value, 1e-3, 100.0, 1e-3));
    params.push_back(parameter(k.cta_overhead_tiles.value, 0, 1e3, 0.5));
    const std::string hdim = "hdim" + std::to_string(kKernelHeadDims[h]) + ".";
    names.push_back(hdim + "efficiency");
    names.push_back(hdim + "cta_overhead_tiles");
    if (sees_partial_tiles(group)) {
      s.partial = params.size();
      params.push_back(parameter(k.partial_tile_cost.value, 1e-2, 50, 0.1));
      names.push_back(hdim + "partial_tile_cost");
    }
    slots[h] = s;
  }
  // A head dim whose samples show no partial tiles shares the partial cost of the nearest one that does (the
  // masking overhead is the same code); without any, backward takes forward's fitted value, forward keeps its own.
  for (auto& [h, s] : slots) {
    if (s.partial) continue;
    std::optional<std::size_t> nearest;
    for (const auto& [g, t] : slots) {
      if (t.partial && (!nearest || std::abs(static_cast<int>(g) - static_cast<int>(h)) < std::abs(static_cast<int>(*nearest) - static_cast<int>(h)))) nearest = g;
    }
    if (nearest) {
      s.partial = slots.at(*nearest).partial;
    } else if (backward) {
      for (const FittedKernelPass& f : done) {
        if (f.kernel != spec.name || f.backward) continue;
        for (const FittedHeadDim& d : f.head_dims) {
          if (head_dim_index(d.head_dim) != h || !d.partial_tile_cost.fitted) continue;
          s.partial_fixed = d.partial_tile_cost.value;
          s.partial_from = "forward's, fitted (no backward timing with partial tiles was measured)";
        }
      }
    }
  }
  auto predict = [&](const std::vector<double>& x, const KernelSample& s) {
    const Slots& sl = slots.at(head_dim_index(s.head_dim));
    return kernel_time_us(s.shape, x[0], x[sl.efficiency], x[sl.overhead], sl.partial ? x[*sl.partial] : sl.partial_fixed);
  };
  const auto residuals = [&](const std::vector<double>& x, std::vector<double>& r) {
    for (std::size_t i = 0; i < samples.size(); ++i) r[i] = (predict(x, *samples[i]) - samples[i]->measured_us) / samples[i]->measured_us;
  };
  std::vector<double> start(params.size());
  for (std::size_t j = 0; j < params.size(); ++j) start[j] = params[j].start;
  std::vector<double> before(samples.size()), after(samples.size());
  residuals(start, before);
  const FitResult fit = least_squares(residuals, samples.size(), params);
  residuals(fit.values, after);
  FittedKernelPass out;
  out.kernel = spec.name;
  out.backward = backward;
  out.samples = samples.size();
  out.launch_us = fitted_value(fit, params, 0);
  out.rms_before = rms(before);
  out.rms_after = rms(after);
  out.median_after = median_abs(after);
  out.quality = quality_of(fit, params, names, samples, after);
  for (const auto& [h, group] : by_hdim) {
    const Slots& sl = slots.at(h);
    FittedHeadDim d;
    d.head_dim = kKernelHeadDims[h];
    d.samples = group.size();
    d.efficiency = fitted_value(fit, params, sl.efficiency);
    d.cta_overhead_tiles = fitted_value(fit, params, sl.overhead);
    d.partial_tile_cost = sl.partial ? fitted_value(fit, params, *sl.partial)
                                     : FittedValue{sl.partial_fixed, false, sl.partial_from, pass.by_hdim[h].partial_tile_cost.value, 0};
    std::vector<double> mine;
    for (std::size_t i = 0; i < samples.size(); ++i) {
      if (head_dim_index(samples[i]->head_dim) == h) mine.push_back(after[i]);
    }
    d.rms_after = rms(mine);
    out.head_dims.push_back(d);
  }
  return out;
}

FittedComm fit_comm(const std::vector<const CommSample*>& samples, CommOp op, const OpCurve& start) {
  std::vector<FitParameter> params = {parameter(start.floor_us, 0, 1e6, 1.0), parameter(start.latency_us, 0, 1e6, 1.0),
                                      parameter(start.busbw_gb_s, 1e-3, 1e6, 1.0)};
  const std::vector<std::string> names = {"floor_us", "latency_us", "busbw_gb_s"};
  const auto residuals = [&](const std::vector<double>& x, std::vector<double>& r) {
    const OpCurve c{x[0], x[1], x[2]};
    for (std::size_t i = 0; i < samples.size(); ++i) {
      r[i] = (c.time_us(samples[i]->bus_bytes, samples[i]->steps) - samples[i]->measured_us) / samples[i]->measured_us;
    }
  };
  std::vector<double> before(samples.size()), after(samples.size());
  residuals({start.floor_us, start.latency_us, start.busbw_gb_s}, before);
  const FitResult fit = least_squares(residuals, samples.size(), params);
  residuals(fit.values, after);
  FittedComm out;
  out.op = op;
  out.samples = samples.size();
  out.floor_us = fitted_value(fit, params, 0);
  out.latency_us = fitted_value(fit, params, 1);
  out.busbw_gb_s = fitted_value(fit, params, 2);
  out.rms_before = rms(before);
  out.rms_after = rms(after);
  out.quality = quality_of(fit, params, names, samples, after);
  return out;
}

std::string number_text(double v) { return format_number(v, "%.3g"); }

// What would determine each constant, for the warnings.
std::string advice(const std::string& constant) {
  if (constant == "launch_us") return "add plans with more kernel calls per rank (a larger W, or the alltoall rotate method), some of them small";
  if (constant.ends_with("efficiency")) return "measure larger kernel calls (longer sequences or more heads), where the tiles outweigh the launch";
  if (constant.ends_with("cta_overhead_tiles")) {
    return "measure calls whose CTAs differ in length (short documents beside long ones, or a causal beside a full mask)";
  }
  if (constant.ends_with("partial_tile_cost")) return "measure plans whose tiles are mostly partial (document masks with short documents, or striped)";
  if (constant == "floor_us") return "measure small messages (short sequences or few kv heads), which the floor bounds";
  if (constant == "latency_us") return "measure messages of several sizes (different sequence lengths or world sizes)";
  if (constant == "busbw_gb_s") return "measure large messages (long sequences or more kv heads)";
  return "measure more varied plans";
}

std::string unit_of(const std::string& constant) {
  if (constant.ends_with("_us")) return " us";
  if (constant.ends_with("_gb_s")) return " GB/s";
  return "";
}

// The warnings of one fitted constant: not determined by the samples, or fitted far from its start or past what any
// kernel does. `group` names the fit ("cpu forward"), `field` the constant in the profile, `floor` the size below
// which differences do not count (the fit's own scale for it).
void review_value(const FittedValue& v, const std::string& constant, const std::string& group, const std::string& field, double floor,
                  std::vector<CalibrationWarning>& out, std::vector<CalibrationWarning>& notes) {
  const std::string unit = unit_of(constant);
  if (!v.fitted) {
    if (!v.taken_from.empty()) return;  // set from a fitted one (backward's partial cost: forward's)
    // Not an unknown at all (no sample showed it: influence 0), or one too small to see: a note, not a warning.
    const bool seen = v.influence >= kNegligibleInfluence;
    (seen ? out : notes).push_back({WarningKind::kNotDetermined, field, group, constant, "kept at its starting " + number_text(v.value) + unit, advice(constant)});
    return;
  }
  std::vector<std::string> why;
  const double a = std::max(std::abs(v.value), floor), b = std::max(std::abs(v.start), floor);
  if (std::max(a, b) > kFarFromStartFactor * std::min(a, b)) why.push_back(number_text(std::max(a, b) / std::min(a, b)) + "x " + (a > b ? "above" : "below") + " its starting " + number_text(v.start) + unit);
  if (constant == "launch_us" && v.value > kMaxPlausibleLaunchUs) why.push_back("above " + number_text(kMaxPlausibleLaunchUs) + " us");
  if (constant == "partial_tile_cost" && v.value < kMinPlausiblePartialCost) why.push_back("below " + number_text(kMinPlausiblePartialCost));
  if (constant == "partial_tile_cost" && v.value > kMaxPlausiblePartialCost) why.push_back("above " + number_text(kMaxPlausiblePartialCost));
  if (why.empty()) return;
  std::string detail = "fitted " + number_text(v.value) + unit;
  for (const std::string& w : why) detail += ", " + w;
  out.push_back({WarningKind::kFarFromStart, field, group, constant, detail, advice(constant)});
}

// The warnings of one group: fewer samples than unknowns, an error the fit leaves large, an ill-conditioned fit of the
// constants it moved.
void review_group(std::size_t samples, double rms_after, const FitQuality& q, const std::string& group, const std::string& field,
                  std::vector<CalibrationWarning>& out) {
  if (rms_after > kPoorFitRms) {
    out.push_back({WarningKind::kPoorFit, field, group, "", "RMS error " + format_number(100 * rms_after, "%.0f") + "% after the fit",
                   "the model cannot follow these times: measure on an idle machine with no more ranks than cores, or start from a "
                   "profile of this device"});
  }
  if (samples < q.unknowns) {
    out.push_back({WarningKind::kFewSamples, field, group, "",
                   std::to_string(samples) + " sample" + (samples == 1 ? "" : "s") + " for " + std::to_string(q.unknowns) + " unknowns",
                   "measure more plans (each (rank, step) of a run is a sample)"});
  }
  if (q.condition > kIllConditioned || q.worst_relative_error > kLooseRelativeError) {
    std::string detail = "condition number " + (std::isfinite(q.condition) ? number_text(q.condition) : std::string("infinite"));
    if (!q.worst_relative_name.empty()) detail += "; " + q.worst_relative_name + " known to +-" + format_number(100 * q.worst_relative_error, "%.0f") + "%";
    std::string others;
    for (const std::string& n : q.weakest) {
      if (n != q.worst_relative_name) others += (others.empty() ? "" : ", ") + n;
    }
    if (!others.empty()) detail += ", trading off with " + others;
    // Ill-conditioned: the fitted constants trade off; loosely determined: they do not, but the samples are few or noisy.
    detail = (q.condition > kIllConditioned ? "ill-conditioned fit (" : "loosely determined fit (") + detail + ")";
    const std::string weakest = !q.worst_relative_name.empty() ? q.worst_relative_name : q.weakest.empty() ? "" : q.weakest.front();
    out.push_back({WarningKind::kIllConditioned, field, group, "", detail, advice(weakest.substr(weakest.find('.') + 1))});
  }
}

// The warnings of a fit (and its notes: constants kept that the samples hardly see).
void review(Calibration& c) {
  std::vector<CalibrationWarning>& out = c.warnings;
  std::vector<CalibrationWarning>& notes = c.notes;
  for (const FittedKernelPass& f : c.kernels) {
    const std::string pass = f.backward ? "backward" : "forward";
    const std::string group = f.kernel + " " + pass, field = "kernels." + f.kernel + "." + pass;
    review_group(f.samples, f.rms_after, f.quality, group, field, out);
    review_value(f.launch_us, "launch_us", group, field + ".launch_us", 1.0, out, notes);
    for (const FittedHeadDim& d : f.head_dims) {
      const std::string h = "hdim" + std::to_string(d.head_dim);
      const std::string hg = group + " head dim " + std::to_string(d.head_dim);
      review_value(d.efficiency, "efficiency", hg, field + "." + h + ".efficiency", 1e-3, out, notes);
      review_value(d.cta_overhead_tiles, "cta_overhead_tiles", hg, field + "." + h + ".cta_overhead_tiles", 0.5, out, notes);
      review_value(d.partial_tile_cost, "partial_tile_cost", hg, field + "." + h + ".partial_tile_cost", 0.1, out, notes);
    }
  }
  for (const FittedComm& f : c.comm) {
    const std::string op(comm_op_name(f.op));
    const std::string group = "nvlink " + op, field = "links.nvlink." + op;
    review_group(f.samples, f.rms_after, f.quality, group, field, out);
    review_value(f.floor_us, "floor_us", group, field + ".floor_us", 1.0, out, notes);
    review_value(f.latency_us, "latency_us", group, field + ".latency_us", 1.0, out, notes);
    review_value(f.busbw_gb_s, "busbw_gb_s", group, field + ".busbw_gb_s", 1.0, out, notes);
  }
  std::stable_sort(out.begin(), out.end(), [](const CalibrationWarning& a, const CalibrationWarning& b) { return a.kind < b.kind; });
}

}  // namespace

std::string CalibrationWarning::text() const {
  switch (kind) {
    case WarningKind::kDevice: return detail + ": " + advice;
    case WarningKind::kFewSamples: return detail + ": the fit cannot determine them all; " + advice;
    case WarningKind::kPoorFit: return "poor fit (" + detail + "): " + advice;
    case WarningKind::kIllConditioned: return detail + ": " + advice;
    case WarningKind::kNotDetermined: return constant + " is not determined (" + detail + "): " + advice;
    case WarningKind::kFarFromStart: return constant + " " + detail + ": " + advice;
  }
  return detail;
}

Result<Calibration> fit_samples(const std::vector<KernelSample>& kernels, const std::vector<CommSample>& comm, const HardwareProfile& p,
                                const std::string& where) {
  if (kernels.empty() && comm.empty()) return bad_input(where + ": no samples to fit");
  Calibration c;
  c.device_kind = p.device_kind;
  // Forward first: backward takes forward's partial-tile cost where it saw no partial tiles itself.
  for (const bool backward : {false, true}) {
    for (const KernelSpec& spec : p.kernels) {
      std::vector<const KernelSample*> group;
      for (const KernelSample& s : kernels) {
        if (s.kernel == spec.name && s.backward == backward && !s.shape.empty && s.measured_us > 0) group.push_back(&s);
      }
      if (group.empty()) continue;
      CPSIM_ASSIGN_OR_RETURN(FittedKernelPass f, fit_kernel_pass(group, spec, backward, c.kernels));
      c.kernels.push_back(std::move(f));
    }
  }
  for (const KernelSample& s : kernels) {
    if (p.kernel(s.kernel) == nullptr) return bad_input(where + ": kernel \"" + s.kernel + "\" is not in profile " + p.name + " (it has " + p.kernel_names() + ")");
  }
  for (const CommOp op : kCommOps) {
    std::vector<const CommSample*> group;
    for (const CommSample& s : comm) {
      if (s.op == op && s.measured_us > 0) group.push_back(&s);
    }
    if (!group.empty()) c.comm.push_back(fit_comm(group, op, p.nvlink.op(op)));
  }
  if (c.comm.empty()) c.comm_note = "no communication was measured (W = 1 runs move no K/V); link curves kept";
  review(c);
  return c;
}

Result<Calibration> calibrate(const std::vector<Measurement>& measurements, const HardwareProfile& p, const std::vector<std::string>& names) {
  if (measurements.empty()) return bad_input("calibrate: no measurements");
  auto name = [&](std::size_t i) { return i < names.size() ? names[i] : "measurement " + std::to_string(i + 1); };
  const std::string where = measurements.size() == 1 ? name(0) : name(0) + " and " + std::to_string(measurements.size() - 1) + " more";
  const Measurement& first = measurements.front();
  for (std::size_t i = 1; i < measurements.size(); ++i) {
    if (measurements[i].device_kind != first.device_kind) {
      return bad_input(name(i) + ": device_kind: " + std::string(device_kind_name(measurements[i].device_kind)) + " differs from " + name(0) +
                       "'s " + std::string(device_kind_name(first.device_kind)) + ": a profile describes one kind of device");
    }
  }
  std::vector<KernelSample> kernels;
  std::vector<CommSample> comm;
  for (std::size_t i = 0; i < measurements.size(); ++i) {
    const Measurement& m = measurements[i];
    // The kernel that ran, whatever path its plan was for (cpsim's executors run their own kernel on every path).
    auto spec = m.strategy.kernel.empty() ? strategy_kernel(p, m.strategy) : Result<const KernelSpec*>(p.kernel(m.strategy.kernel));
    if (spec && *spec == nullptr) {
      return bad_input(name(i) + ": strategy: kernel \"" + m.strategy.kernel + "\" is not in profile " + p.name + " (it has " + p.kernel_names() + ")");
    }
    if (!spec) return bad_input(name(i) + ": strategy: " + spec.error().message);
    // The kernel form needs each step's CTAs (active rows) and longest CTA: files without them cannot be fitted.
    bool missing_rows = false;
    auto add_kernel = [&](const MeasuredStep& s, bool backward) {
      if (s.full_tiles + s.partial_tiles <= 0 || s.compute_us <= 0) return;
      if (s.active_rows <= 0 || s.max_row_tiles <= 0) {
        missing_rows = true;
        return;
      }
      const KernelWork work{s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles, 0, 0};
      kernels.push_back({(*spec)->name, backward, m.head_dim, kernel_shape(work, m.tile_size, m.q_heads, m.head_dim, backward, **spec, p), s.compute_us,
                         name(i), s.rank, s.step});
    };
    const bool gather = m.strategy.path == AttentionPath::kSparseGather;
    const CommOp op = gather ? CommOp::kAllToAll : m.strategy.rotate == RotateMethod::kAllGather ? CommOp::kAllGather : CommOp::kP2p;
    for (const MeasuredStep& s : m.steps) {
      add_kernel(s, false);
      if (s.comm_bytes > 0 && s.comm_us > 0) {
        comm.push_back({op, s.comm_bytes, op == CommOp::kAllGather ? static_cast<double>(m.world_size - 1) : 1.0, s.comm_us, name(i), s.rank, s.step});
      }
    }
    for (const MeasuredStep& s : m.backward.steps) add_kernel(s, true);
    if (missing_rows) {
      return bad_input(name(i) + ": steps: active_rows and max_row_tiles missing (written by an older cpsim): execute the plan again");
    }
  }
  if (kernels.empty()) return bad_input(where + ": steps: no compute samples (every step empty or unmeasured)");
  CPSIM_ASSIGN_OR_RETURN(Calibration c, fit_samples(kernels, comm, p, where));
  c.device_kind = first.device_kind;
  if (first.device_kind != p.device_kind) {
    // Every constant then starts from another kind of device: the far-off warnings below say little but this.
    c.warnings.insert(c.warnings.begin(),
                      {WarningKind::kDevice, "device_kind", "", "",
                       "the measurements ran on a " + std::string(device_kind_name(first.device_kind)) + " but profile " + p.name + " describes a " +
                           std::string(device_kind_name(p.device_kind)),
                       std::string("start from a profile of that kind") + (first.device_kind == DeviceKind::kCpu ? " (--hardware cpu-threads)" : "")});
  }
  return c;
}

Result<Json> calibrated_profile_json(const HardwareProfile& p, const Calibration& c, const std::string& name, const std::string& provenance) {
  CPSIM_ASSIGN_OR_RETURN(const Json original, read_json_file(p.source));
  // The same members in the same order, a "kernels_from" replaced by the kernels it names.
  Json doc = Json::object();
  for (const auto& [key, value] : original.items()) {
    if (key == "kernels_from") {
      CPSIM_ASSIGN_OR_RETURN(const Json from, read_json_file(p.kernels_file));
      doc["kernels"] = from["kernels"];
    } else if (key != "model_error") {  // the fit changes what validate would say
      doc[key] = value;
    }
  }
  doc["name"] = name;
  doc["device_kind"] = device_kind_name(c.device_kind);  // what was measured, whatever the starting profile described
  std::string description = doc.value("description", "");
  if (const auto at = description.find(" Calibrated: "); at != std::string::npos) description.resize(at);  // the last calibration only
  doc["description"] = description + " Calibrated: " + provenance;
  // The peak's source before an earlier calibration raised it, so that refits do not stack their notes.
  auto original_source = [](std::string s) {
    constexpr std::string_view kRaised = "raised by cpsim calibrate";
    constexpr std::string_view kAllowed = "than this peak allowed: ";
    while (s.starts_with(kRaised) && s.find(kAllowed) != std::string::npos) s = s.substr(s.find(kAllowed) + kAllowed.size());
    return s;
  };
  // What the samples determined, to 6 significant digits (far below what they determine; a refit then rewrites the
  // same file), with its provenance; the rest stays as it was (the fit held it there).
  auto set = [&](Json& entry, const FittedValue& v) {
    if (!v.fitted && v.taken_from.empty()) return;
    entry["value"] = std::stod(format_number(v.value, "%.6g"));
    entry["source"] = v.fitted ? "fitted by cpsim calibrate: " + provenance : "set by cpsim calibrate to " + v.taken_from + ": " + provenance;
    entry["estimate"] = !v.fitted;
  };
  for (const FittedKernelPass& f : c.kernels) {
    Json& pass = doc["kernels"][f.kernel][f.backward ? "backward" : "forward"];
    set(pass["launch_us"], f.launch_us);
    for (const FittedHeadDim& d : f.head_dims) {
      Json& h = pass["hdim" + std::to_string(d.head_dim)];
      set(h["efficiency"], d.efficiency);
      set(h["cta_overhead_tiles"], d.cta_overhead_tiles);
      set(h["partial_tile_cost"], d.partial_tile_cost);
    }
  }
  // A tile's time goes as 1 / (peak x efficiency). An efficiency fitted past 1 (a device faster than its starting
  // profile's peak) moves the excess into the peak, every efficiency divided by as much: every kernel keeps its rate.
  double excess = 1.0;
  for (auto& [name, kernel] : doc["kernels"].items()) {
    for (const char* pass : {"forward", "backward"}) {
      for (auto& [key, h] : kernel[pass].items()) {
        if (key.starts_with("hdim")) excess = std::max(excess, h["efficiency"]["value"].get<double>());
      }
    }
  }
  if (excess > 1.0) {
    Json& peak = doc["gpu"]["peak_bf16_tflops"];
    peak["value"] = peak["value"].get<double>() * excess;
    peak["source"] = "raised by cpsim calibrate (" + provenance + ") as its kernels ran " + format_number(excess, "%.4g") +
                     "x faster than this peak allowed: " + original_source(peak["source"].get<std::string>());
    for (auto& [name, kernel] : doc["kernels"].items()) {
      for (const char* pass : {"forward", "backward"}) {
        for (auto& [key, h] : kernel[pass].items()) {
          if (key.starts_with("hdim")) h["efficiency"]["value"] = h["efficiency"]["value"].get<double>() / excess;
        }
      }
    }
  }
  for (const FittedComm& f : c.comm) {
    Json& curve = doc["links"]["nvlink"][std::string(comm_op_name(f.op))];
    set(curve["floor_us"], f.floor_us);
    set(curve["latency_us"], f.latency_us);
    set(curve["busbw_gb_s"], f.busbw_gb_s);
  }
  return doc;
}

}  // namespace cpsim
