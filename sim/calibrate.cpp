// Least-squares fits of kernel and hop constants from MEASURED.json files.
#include "sim/calibrate.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "sim/cost_model.h"
#include "sim/path.h"

namespace cpsim {
namespace {

struct Samples {
  std::vector<std::vector<double>> x;
  std::vector<double> y;
};

double rms_relative(const Samples& s, const std::vector<double>& c) {
  if (s.y.empty()) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < s.y.size(); ++i) {
    double predicted = 0;
    for (std::size_t j = 0; j < c.size(); ++j) predicted += c[j] * s.x[i][j];
    const double rel = (predicted - s.y[i]) / s.y[i];
    sum += rel * rel;
  }
  return std::sqrt(sum / static_cast<double>(s.y.size()));
}

// Solves min |A c - y|^2 with rows weighted by 1/y, so that small and large samples count alike (the errors
// we report are relative). `where` names the measurements in errors; `k` is the number of constants.
Result<LinearFit> fit(const Samples& s, std::size_t k, const std::string& what, const std::string& where) {
  const std::size_t n = s.y.size();
  if (n < k || n == 0) {
    return bad_input(where + ": steps: " + std::to_string(n) + " " + what + " samples cannot determine " + std::to_string(k) + " constants");
  }
  Eigen::MatrixXd a(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(k));
  Eigen::VectorXd y(static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const double w = 1.0 / s.y[i];
    for (std::size_t j = 0; j < k; ++j) a(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = s.x[i][j] * w;
    y(static_cast<Eigen::Index>(i)) = 1.0;
  }
  const auto qr = a.colPivHouseholderQr();
  if (qr.rank() < static_cast<Eigen::Index>(k)) {
    return bad_input(where + ": steps: the " + what + " samples do not vary enough to fit " + std::to_string(k) +
                     " constants (measure plans with different tile counts or message sizes)");
  }
  const Eigen::VectorXd c = qr.solve(y);
  LinearFit f;
  f.coefficients.assign(c.data(), c.data() + c.size());
  f.samples = n;
  f.rms_relative_error = rms_relative(s, f.coefficients);
  return f;
}

}  // namespace

Result<Calibration> calibrate(const std::vector<Measurement>& measurements, const HardwareProfile& p, const std::vector<std::string>& names) {
  if (measurements.empty()) return bad_input("calibrate: no measurements");
  auto name = [&](std::size_t i) { return i < names.size() ? names[i] : "measurement " + std::to_string(i + 1); };
  // The measurements as a whole, in errors about what they hold together.
  const std::string where = measurements.size() == 1 ? name(0) : name(0) + " and " + std::to_string(measurements.size() - 1) + " more";
  const Measurement& first = measurements.front();
  for (std::size_t i = 1; i < measurements.size(); ++i) {
    const Measurement& m = measurements[i];
    if (m.tile_size != first.tile_size || m.head_dim != first.head_dim) {
      return bad_input(name(i) + ": tile_size " + std::to_string(m.tile_size) + ", head_dim " + std::to_string(m.head_dim) + " differ from " +
                       name(0) + "'s " + std::to_string(first.tile_size) + ", " + std::to_string(first.head_dim) +
                       ": a tile's cost depends on both, so calibrate measurements of one shape together");
    }
  }
  for (std::size_t i = 1; i < measurements.size(); ++i) {
    if (measurements[i].device_kind != first.device_kind) {
      return bad_input(name(i) + ": device_kind: " + std::string(device_kind_name(measurements[i].device_kind)) + " differs from " + name(0) +
                       "'s " + std::string(device_kind_name(first.device_kind)) + ": a profile describes one kind of device");
    }
  }
  Samples compute, backward, comm;
  const std::int64_t head_dim = first.head_dim;
  // A kernel sample in the simulator's form: launch + critical share x summed tile time, on the starting
  // profile's SMs, with block-sparse paths at the profile's block-sparse factor of the flash kernel's rate
  // (t / k). Files without the row statistics fall back to the throughput share, 1 / SMs.
  auto add_kernel = [&](Samples& into, const Measurement& m, const MeasuredStep& s) {
    if (s.full_tiles + s.partial_tiles <= 0 || s.compute_us <= 0) return;
    const double kind_factor = path_model(m.strategy.path).kernel() == KernelKind::kFlash ? 1.0 : 1.0 / p.block_sparse_efficiency_factor;
    const KernelWork work{s.full_tiles, s.partial_tiles, s.active_rows, s.max_row_tiles};
    const double share = s.active_rows > 0 && s.max_row_tiles > 0 ? CostModel::critical_share(work, m.q_heads, p.sm_count, p.ctas_per_sm)
                                                                    : 1.0 / static_cast<double>(p.sm_count);
    const double weight = static_cast<double>(m.q_heads) * share * kind_factor;
    into.x.push_back({1.0, static_cast<double>(s.full_tiles) * weight, static_cast<double>(s.partial_tiles) * weight});
    into.y.push_back(s.compute_us);
  };
  for (const Measurement& m : measurements) {
    for (const MeasuredStep& s : m.backward.steps) add_kernel(backward, m, s);
    for (const MeasuredStep& s : m.steps) {
      add_kernel(compute, m, s);
      if (s.comm_bytes > 0 && s.comm_us > 0) {
        comm.x.push_back({1.0, s.comm_bytes});
        comm.y.push_back(s.comm_us);
      }
    }
  }
  Calibration c;
  c.device_kind = first.device_kind;
  CPSIM_ASSIGN_OR_RETURN(c.compute, fit(compute, 3, "compute", where));
  // No hops (W = 1 runs), or hops of a single size, cannot separate latency from bandwidth: keep the profile's
  // link then, and say so.
  if (comm.y.empty()) {
    c.comm_note = "no communication was measured (W = 1 runs move no K/V); link constants kept";
  } else if (auto fitted = fit(comm, 2, "communication", where)) {
    c.comm = *fitted;
  } else {
    c.comm_note = "the " + std::to_string(comm.y.size()) + " communication samples do not determine latency and bandwidth "
                  "(hops of one size); link constants kept";
  }
  // The input profile's constants in the same linear form, for the error before.
  ModelShape shape;
  shape.head_dim = head_dim;
  const CostModel old(p, shape, first.tile_size);
  const double old_full = old.tile_us(false, KernelKind::kFlash, false);
  const double old_partial = old.tile_us(false, KernelKind::kFlash, true);
  c.rms_error_before_compute = rms_relative(compute, {p.kernel_launch_us, old_full, old_partial});
  c.rms_error_before_comm = rms_relative(comm, {p.nvlink.latency_us, 1.0 / (p.nvlink.p2p_bandwidth_gb_s * 1e3)});

  const double t_full = c.compute.coefficients[1], t_partial = c.compute.coefficients[2];
  if (!(t_full > 0) || !(t_partial > 0) || (!c.comm.coefficients.empty() && !(c.comm.coefficients[1] > 0))) {
    return bad_input(where + ": steps: the fit gives non-positive costs (t_full " + std::to_string(t_full) + " us, t_partial " +
                     std::to_string(t_partial) + " us); measure more varied plans");
  }
  c.fwd_efficiency_scale = old_full / t_full;  // efficiency is inverse to tile time
  // Above 0 on GPUs (masking costs extra); below 0 where masked pairs are skipped, as on the CPU executor.
  c.partial_tile_overhead_fraction = t_partial / t_full - 1.0;
  c.kernel_launch_us = std::max(1e-3, c.compute.coefficients[0]);
  // A launch fitted below zero is kept at 1 ns: the error after is that of the constants written.
  c.compute.rms_relative_error = rms_relative(compute, {c.kernel_launch_us, t_full, t_partial});
  if (!backward.y.empty()) {  // one rate: y - launch = t_bwd * (full + partial (1 + overhead)) x weight
    const double old_bwd = old.tile_us(true, KernelKind::kFlash, false);
    const double overhead = 1.0 + c.partial_tile_overhead_fraction;
    c.rms_error_before_backward = rms_relative(backward, {p.kernel_launch_us, old_bwd, old.tile_us(true, KernelKind::kFlash, true)});
    double num = 0, den = 0;  // weighted by 1 / y, as the other fits
    for (std::size_t i = 0; i < backward.y.size(); ++i) {
      const double x = backward.x[i][1] + backward.x[i][2] * overhead, w = 1.0 / backward.y[i];
      num += x * (backward.y[i] - c.kernel_launch_us) * w * w;
      den += x * x * w * w;
    }
    const double t_bwd = num / den;
    if (!(t_bwd > 0)) return bad_input(where + ": backward.steps: the fit gives a non-positive backward tile time; measure more varied plans");
    c.backward_samples = backward.y.size();
    c.bwd_efficiency_scale = old_bwd / t_bwd;
    c.rms_error_after_backward = rms_relative(backward, {c.kernel_launch_us, t_bwd, t_bwd * overhead});
  }
  if (c.comm.coefficients.empty()) {
    c.latency_us = p.nvlink.latency_us;
    c.p2p_bandwidth_gb_s = p.nvlink.p2p_bandwidth_gb_s;
  } else {
    c.latency_us = std::max(1e-3, c.comm.coefficients[0]);
    c.p2p_bandwidth_gb_s = 1.0 / c.comm.coefficients[1] / 1e3;
  }
  return c;
}

Result<Json> calibrated_profile_json(const HardwareProfile& p, const Calibration& c, const std::string& name,
                                     const std::string& provenance) {
  CPSIM_ASSIGN_OR_RETURN(Json doc, read_json_file(p.source));
  doc["name"] = name;
  doc["device_kind"] = device_kind_name(c.device_kind);  // what was measured, whatever the starting profile described
  doc["description"] = doc.value("description", "") + " Calibrated: " + provenance;
  auto set = [&](Json& entry, double value) {
    entry["value"] = value;
    entry["source"] = "fitted by cpsim calibrate: " + provenance;
    entry["estimate"] = false;
  };
  // Tile time goes as 1 / (peak x efficiency). An efficiency scaled past 1 (a device faster than its starting
  // profile's peak) moves the excess into the peak, so that the product is what was fitted.
  const char* const fwd_keys[] = {"attn_fwd_efficiency_hdim64", "attn_fwd_efficiency_hdim128", "attn_fwd_efficiency_hdim256"};
  const char* const bwd_keys[] = {"attn_bwd_efficiency_hdim64", "attn_bwd_efficiency_hdim128", "attn_bwd_efficiency_hdim256"};
  const bool fit_bwd = c.backward_samples > 0;
  double excess = 1.0;
  for (const char* key : fwd_keys) excess = std::max(excess, doc["gpu"][key]["value"].get<double>() * c.fwd_efficiency_scale);
  for (const char* key : bwd_keys) excess = std::max(excess, doc["gpu"][key]["value"].get<double>() * (fit_bwd ? c.bwd_efficiency_scale : 1.0));
  for (const char* key : fwd_keys) set(doc["gpu"][key], doc["gpu"][key]["value"].get<double>() * c.fwd_efficiency_scale / excess);
  if (fit_bwd) {
    for (const char* key : bwd_keys) set(doc["gpu"][key], doc["gpu"][key]["value"].get<double>() * c.bwd_efficiency_scale / excess);
  }
  if (excess > 1.0) {
    set(doc["gpu"]["peak_bf16_tflops"], doc["gpu"]["peak_bf16_tflops"]["value"].get<double>() * excess);
    for (const char* key : bwd_keys) {  // unless fitted above, backward keeps its rate: peak x efficiency
      if (fit_bwd) continue;
      Json& entry = doc["gpu"][key];
      entry["value"] = entry["value"].get<double>() / excess;
      entry["source"] = entry["source"].get<std::string>() + " (divided by " + std::to_string(excess) +
                        " by cpsim calibrate as the peak grew by as much)";
    }
  }
  set(doc["gpu"]["partial_tile_overhead_fraction"], c.partial_tile_overhead_fraction);
  set(doc["gpu"]["kernel_launch_us"], c.kernel_launch_us);
  if (!c.comm.coefficients.empty()) {
    set(doc["links"]["nvlink"]["p2p_bandwidth_gb_s"], c.p2p_bandwidth_gb_s);
    set(doc["links"]["nvlink"]["latency_us"], c.latency_us);
  }
  return doc;
}

}  // namespace cpsim
