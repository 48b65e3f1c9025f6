// Loading the published record, predicting it with the simulator, and its fit split as calibration samples.
#include "sim/validation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/plan.h"
#include "core/strategy.h"
#include "core/text_format.h"
#include "sim/path.h"
#include "sim/simulate.h"
#include "sim/topology.h"

namespace cpsim {
namespace {

constexpr std::array<std::string_view, 3> kSplitNames = {"fit", "check", "excluded"};

Result<double> positive(const FieldReader& rd, const Json& object, const std::string& field, std::string_view key) {
  CPSIM_ASSIGN_OR_RETURN(const Json* v, rd.member(object, field, key));
  if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() <= 0) {
    return rd.error(FieldReader::join(field, key), "expected a positive number, got " + describe_value(*v));
  }
  return v->get<double>();
}

Result<std::int64_t> count(const FieldReader& rd, const Json& object, const std::string& field, std::string_view key, std::int64_t max) {
  CPSIM_ASSIGN_OR_RETURN(const Json* v, rd.member(object, field, key));
  CPSIM_ASSIGN_OR_RETURN(const std::int64_t n, rd.integer(*v, FieldReader::join(field, key)));
  if (n < 1 || n > max) return rd.error(FieldReader::join(field, key), "must be 1 to " + std::to_string(max) + ", got " + std::to_string(n));
  return n;
}

// 4 S^2 D H B FLOPs forward (half of it causal), 2.5x that backward: the convention of every FA benchmark.
double attention_flops(const ValidationPoint& p, double backward_factor) {
  const double s = static_cast<double>(p.seq_len);
  double f = 4.0 * s * s * static_cast<double>(p.model.head_dim * p.model.q_heads * p.batch);
  if (p.mask.kind == MaskKind::kCausal) f /= 2;
  return f * ((p.forward ? 1.0 : 0.0) + (p.backward ? backward_factor : 0.0));
}

// "1 MiB", "8 GiB", "512 B": nccl-tests sizes are powers of two.
std::string size_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
  return format_number(bytes, bytes == std::floor(bytes) ? "%.0f" : "%.1f") + " " + units[u];
}

double bus_bytes(const ValidationPoint& p) {
  if (p.op == CommOp::kP2p) return p.bytes;
  const double n = static_cast<double>(p.ranks);
  return p.bytes * (n - 1) / n;
}

Result<ValidationPoint> read_point(const FieldReader& rd, const Json& node, const std::string& field, const std::string& title,
                                   const std::string& url, const std::string& hardware) {
  if (auto ok = rd.expect_object(node, field); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(node, field, {"id", "split", "why", "ref", "kind", "kernel", "pass", "mask", "window", "batch", "seq_len",
                                                   "q_heads", "kv_heads", "head_dim", "strategy", "world_size", "op", "bytes", "ranks",
                                                   "metric", "value", "notes", "hardware"});
      !ok) {
    return ok.error();
  }
  ValidationPoint p;
  p.url = url;
  CPSIM_ASSIGN_OR_RETURN(const Json* id, rd.member(node, field, "id"));
  CPSIM_ASSIGN_OR_RETURN(p.id, rd.string(*id, field + ".id"));
  CPSIM_ASSIGN_OR_RETURN(const std::string ref, rd.optional_string(node, field, "ref", ""));
  p.source = ref.empty() ? title : title + ", " + ref;
  CPSIM_ASSIGN_OR_RETURN(p.hardware, rd.optional_string(node, field, "hardware", hardware));
  CPSIM_ASSIGN_OR_RETURN(const std::string split, rd.optional_string(node, field, "split", ""));
  const auto s = std::find(kSplitNames.begin(), kSplitNames.end(), split);
  if (s == kSplitNames.end()) return rd.error(field + ".split", "expected fit, check or excluded, got " + describe_value(Json(split)));
  p.split = static_cast<Split>(s - kSplitNames.begin());
  CPSIM_ASSIGN_OR_RETURN(p.why, rd.optional_string(node, field, "why", ""));
  if (p.split == Split::kExcluded && p.why.empty()) return rd.error(field + ".why", "missing: an excluded point says why");
  CPSIM_ASSIGN_OR_RETURN(const std::string kind, rd.optional_string(node, field, "kind", ""));
  CPSIM_ASSIGN_OR_RETURN(p.metric, rd.optional_string(node, field, "metric", ""));
  CPSIM_ASSIGN_OR_RETURN(p.value, positive(rd, node, field, "value"));
  if (kind == "collective") {
    p.kind = PointKind::kCollective;
    CPSIM_ASSIGN_OR_RETURN(const std::string op, rd.optional_string(node, field, "op", ""));
    bool known = false;
    for (const CommOp o : kCommOps) {
      if (comm_op_name(o) == op) p.op = o, known = true;
    }
    if (!known) return rd.error(field + ".op", "expected p2p, all_gather, reduce_scatter or all_to_all, got " + describe_value(Json(op)));
    CPSIM_ASSIGN_OR_RETURN(p.bytes, positive(rd, node, field, "bytes"));
    CPSIM_ASSIGN_OR_RETURN(p.ranks, count(rd, node, field, "ranks", kMaxWorldSize));
    if (p.ranks < 2) return rd.error(field + ".ranks", "a collective needs 2 or more ranks");
    if (p.metric == "busbw_gb_s") {
      p.published_us = bus_bytes(p) / (p.value * 1e3);
    } else if (p.metric == "time_us") {
      p.published_us = p.value;
    } else {
      return rd.error(field + ".metric", "a collective's metric is busbw_gb_s or time_us, got " + describe_value(Json(p.metric)));
    }
    return p;
  }
  if (kind != "kernel" && kind != "cp") return rd.error(field + ".kind", "expected kernel, collective or cp, got " + describe_value(Json(kind)));
  p.kind = kind == "cp" ? PointKind::kCp : PointKind::kKernel;
  CPSIM_ASSIGN_OR_RETURN(const std::string pass, rd.optional_string(node, field, "pass", ""));
  if (pass != "forward" && pass != "backward" && pass != "forward+backward") {
    return rd.error(field + ".pass", "expected forward, backward or forward+backward, got " + describe_value(Json(pass)));
  }
  p.forward = pass != "backward";
  p.backward = pass != "forward";
  CPSIM_ASSIGN_OR_RETURN(const std::string mask, rd.optional_string(node, field, "mask", ""));
  const auto m = parse_mask_kind(mask);
  if (!m || (*m != MaskKind::kCausal && *m != MaskKind::kFull && *m != MaskKind::kSlidingWindow)) {
    return rd.error(field + ".mask", "expected causal, full or sliding_window, got " + describe_value(Json(mask)));
  }
  p.mask.kind = *m;
  if (*m == MaskKind::kSlidingWindow) {
    CPSIM_ASSIGN_OR_RETURN(p.mask.window, count(rd, node, field, "window", kMaxTokens));
  }
  CPSIM_ASSIGN_OR_RETURN(p.batch, count(rd, node, field, "batch", 4096));
  CPSIM_ASSIGN_OR_RETURN(p.seq_len, count(rd, node, field, "seq_len", kMaxTokens));
  CPSIM_ASSIGN_OR_RETURN(p.model.q_heads, count(rd, node, field, "q_heads", kMaxHeads));
  CPSIM_ASSIGN_OR_RETURN(p.model.kv_heads, count(rd, node, field, "kv_heads", kMaxHeads));
  CPSIM_ASSIGN_OR_RETURN(p.model.head_dim, count(rd, node, field, "head_dim", kMaxHeadDim));
  if (p.kind == PointKind::kCp) {
    CPSIM_ASSIGN_OR_RETURN(p.strategy, rd.optional_string(node, field, "strategy", ""));
    CPSIM_ASSIGN_OR_RETURN(p.world_size, count(rd, node, field, "world_size", kMaxWorldSize));
    CPSIM_ASSIGN_OR_RETURN(const Strategy st, parse_strategy_text(p.strategy, rd.source() + ": " + field + ".strategy"));
    p.kernel = st.kernel;
  } else {
    CPSIM_ASSIGN_OR_RETURN(p.kernel, rd.optional_string(node, field, "kernel", ""));
    if (p.kernel.empty()) return rd.error(field + ".kernel", "missing: a kernel point names its kernel");
  }
  if (p.metric == "time_ms") {
    p.published_us = p.value * 1e3;
  } else if (p.metric == "time_us") {
    p.published_us = p.value;
  } else if (p.metric == "tflops" && p.kind == PointKind::kKernel) {
    p.published_us = attention_flops(p, 2.5) / (p.value * 1e6);
  } else {
    return rd.error(field + ".metric", "expected time_ms, time_us or (kernels) tflops, got " + describe_value(Json(p.metric)));
  }
  return p;
}

Workload point_workload(const ValidationPoint& p) {
  Workload w;
  w.seq_len = p.seq_len;
  w.mask = p.mask;
  w.documents.assign(static_cast<std::size_t>(p.batch), {p.seq_len});
  w.model = p.model;
  w.description = p.id;
  return w;
}

// The path a kernel point runs on: the one path that calls its kernel as the benchmark did (one GPU, no CP).
Strategy kernel_strategy(const KernelSpec& k, MaskKind mask) {
  Strategy s;
  s.kernel = k.name;
  const bool dense = mask == MaskKind::kCausal || mask == MaskKind::kFull;
  if (k.interface == KernelInterface::kSdpa || (k.interface == KernelInterface::kAny && dense)) {
    s.path = AttentionPath::kSdpaRing;
  } else if (k.interface == KernelInterface::kFlex) {
    s.path = AttentionPath::kFlexAllgather;
  } else {
    s.path = AttentionPath::kSparseRing;
    s.rotate = RotateMethod::kAllToAll;
  }
  return s;
}

Result<const HardwareProfile*> profile_for(const std::string& name, std::map<std::string, HardwareProfile>& profiles) {
  auto it = profiles.find(name);
  if (it == profiles.end()) {
    CPSIM_ASSIGN_OR_RETURN(HardwareProfile p, find_hardware_profile(name));
    it = profiles.emplace(name, std::move(p)).first;
  }
  return &it->second;
}

double collective_us(const ValidationPoint& p, const Topology& t) {
  switch (p.op) {
    case CommOp::kP2p: return t.ring_shift_us(p.bytes);
    case CommOp::kAllToAll: return t.node_all_to_all_us(bus_bytes(p));
    default: return t.ring_collective_us(p.op, p.bytes);
  }
}

}  // namespace

std::string_view split_name(Split split) { return kSplitNames[static_cast<std::size_t>(split)]; }

std::string validation_dir() { return data_dir() + "/validation"; }

std::string ValidationPoint::setting() const {
  if (kind == PointKind::kCollective) {
    return std::string(comm_op_name(op)) + " " + size_text(bytes) + " over " + std::to_string(ranks) + " GPUs";
  }
  const std::string pass = forward && backward ? "fwd+bwd" : forward ? "fwd" : "bwd";
  std::string out = (kind == PointKind::kCp ? strategy + " W=" + std::to_string(world_size) : kernel) + " " + pass + " " +
                    std::string(mask_kind_name(mask.kind)) + " B=" + std::to_string(batch) + " S=" + std::to_string(seq_len) +
                    " H=" + std::to_string(model.q_heads);
  if (model.kv_heads != model.q_heads) out += "/" + std::to_string(model.kv_heads);
  return out + " D=" + std::to_string(model.head_dim);
}

Result<std::vector<ValidationPoint>> validation_points_from_json(const Json& doc, const std::string& file) {
  const FieldReader rd(file);
  if (auto ok = rd.expect_object(doc, ""); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(doc, "", {"source", "hardware", "setting", "notes", "points"}); !ok) return ok.error();
  CPSIM_ASSIGN_OR_RETURN(const Json* source, rd.member(doc, "", "source"));
  if (auto ok = rd.expect_object(*source, "source"); !ok) return ok.error();
  CPSIM_ASSIGN_OR_RETURN(const std::string title, rd.optional_string(*source, "source", "title", ""));
  CPSIM_ASSIGN_OR_RETURN(const std::string url, rd.optional_string(*source, "source", "url", ""));
  if (title.empty()) return rd.error("source.title", "missing: every file names its source");
  CPSIM_ASSIGN_OR_RETURN(const std::string hardware, rd.optional_string(doc, "", "hardware", ""));
  CPSIM_ASSIGN_OR_RETURN(const Json* points, rd.member(doc, "", "points"));
  if (auto ok = rd.expect_array(*points, "points"); !ok) return ok.error();
  std::vector<ValidationPoint> out;
  for (std::size_t i = 0; i < points->size(); ++i) {
    CPSIM_ASSIGN_OR_RETURN(ValidationPoint p, read_point(rd, (*points)[i], FieldReader::index("points", i), title, url, hardware));
    if (p.hardware.empty()) return rd.error(FieldReader::index("points", i) + ".hardware", "missing: the profile the point is predicted on");
    p.file = file;
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<ValidationPoint>> load_validation(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  if (ec) return bad_input("validation data: " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) return bad_input("validation data: no *.json files in " + dir);
  std::vector<ValidationPoint> out;
  std::map<std::string, std::string> file_of_id;  // a map, not a scan: a file may hold millions of points
  for (const std::string& file : files) {
    CPSIM_ASSIGN_OR_RETURN(const Json doc, read_json_file(file));
    CPSIM_ASSIGN_OR_RETURN(std::vector<ValidationPoint> points, validation_points_from_json(doc, file));
    for (std::size_t i = 0; i < points.size(); ++i) {
      const auto [at, fresh] = file_of_id.emplace(points[i].id, file);
      if (!fresh) return FieldReader(file).error(FieldReader::index("points", i) + ".id", "\"" + points[i].id + "\" is also in " + at->second);
      out.push_back(std::move(points[i]));
    }
  }
  return out;
}

SplitStats split_stats(const std::vector<PointResult>& results, Split split) {
  std::vector<double> e;
  for (const PointResult& r : results) {
    if (r.point->split == split) e.push_back(std::abs(r.error));
  }
  SplitStats s;
  s.points = e.size();
  if (e.empty()) return s;
  std::sort(e.begin(), e.end());
  auto quantile = [&](double q) {  // linear between order statistics, as numpy's default
    const double at = q * static_cast<double>(e.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(at));
    const std::size_t hi = std::min(lo + 1, e.size() - 1);
    return e[lo] + (at - static_cast<double>(lo)) * (e[hi] - e[lo]);
  };
  s.median = quantile(0.5);
  s.p90 = quantile(0.9);
  s.max = e.back();
  return s;
}

Result<std::vector<PointResult>> predict_points(const std::vector<ValidationPoint>& points, const std::string& hardware,
                                                std::map<std::string, HardwareProfile>& profiles) {
  std::vector<PointResult> out;
  for (const ValidationPoint& p : points) {
    if (!hardware.empty() && p.hardware != hardware) continue;
    // An excluded point cpsim cannot simulate is shown without a prediction; any other is an error.
    std::optional<PointResult> unpredicted;
    auto fail = [&](const Error& e) -> Status {
      if (p.split != Split::kExcluded) return bad_input(p.file + ": point " + p.id + ": " + e.message);
      unpredicted = PointResult{&p, std::nan(""), std::nan("")};
      return Ok{};
    };
    auto profile = profile_for(p.hardware, profiles);
    if (!profile) {
        CPSIM_RETURN_IF_ERROR(fail(profile.error()));
        out.push_back(*unpredicted);
        continue;
      }
    const HardwareProfile& hw = **profile;
    PointResult r;
    r.point = &p;
    if (p.kind == PointKind::kCollective) {
      auto t = Topology::build(hw, p.ranks);
      if (!t) {
        CPSIM_RETURN_IF_ERROR(fail(t.error()));
        out.push_back(*unpredicted);
        continue;
      }
      r.predicted_us = collective_us(p, *t);
    } else {
      Strategy s;
      std::int64_t w = 1;
      if (p.kind == PointKind::kCp) {
        auto parsed = parse_strategy_text(p.strategy, p.id);
        if (!parsed) {
        CPSIM_RETURN_IF_ERROR(fail(parsed.error()));
        out.push_back(*unpredicted);
        continue;
      }
        s = *parsed;
        w = p.world_size;
      } else {
        const KernelSpec* k = hw.kernel(p.kernel);
        if (k == nullptr) return bad_input(p.file + ": point " + p.id + ": kernel \"" + p.kernel + "\" is not in profile " + hw.name);
        s = kernel_strategy(*k, p.mask.kind);
      }
      s.balancer = p.kind == PointKind::kCp ? s.balancer : "contiguous";
      auto plan = make_plan(point_workload(p), p.file, s.balancer, w, 128);
      if (!plan) {
        CPSIM_RETURN_IF_ERROR(fail(plan.error()));
        out.push_back(*unpredicted);
        continue;
      }
      auto sim = simulate(*plan, s, hw, p.backward);
      if (!sim) {
        CPSIM_RETURN_IF_ERROR(fail(sim.error()));
        out.push_back(*unpredicted);
        continue;
      }
      const Metrics& m = sim->metrics;
      r.predicted_us = p.forward && p.backward ? m.step_us : p.forward ? m.forward_us : m.step_us - m.forward_us;
    }
    r.error = (r.predicted_us - p.published_us) / p.published_us;
    out.push_back(r);
  }
  return out;
}

Result<std::pair<std::vector<KernelSample>, std::vector<CommSample>>> fit_samples_of(const std::vector<ValidationPoint>& points,
                                                                                    const HardwareProfile& hw) {
  std::vector<KernelSample> kernels;
  std::vector<CommSample> comm;
  for (const ValidationPoint& p : points) {
    if (p.split != Split::kFit || p.hardware != hw.name) continue;
    if (p.kind == PointKind::kCollective) {
      comm.push_back({p.op, bus_bytes(p), p.op == CommOp::kP2p || p.op == CommOp::kAllToAll ? 1.0 : static_cast<double>(p.ranks - 1), p.published_us});
      continue;
    }
    if (p.kind != PointKind::kKernel) continue;
    if (p.forward && p.backward) return bad_input(p.file + ": point " + p.id + ": a forward+backward kernel time cannot be fitted (split it or make it check)");
    const KernelSpec* k = hw.kernel(p.kernel);
    if (k == nullptr) return bad_input(p.file + ": point " + p.id + ": kernel \"" + p.kernel + "\" is not in profile " + hw.name);
    const Strategy s = kernel_strategy(*k, p.mask.kind);
    auto plan = make_plan(point_workload(p), p.file, "contiguous", 1, 128);
    if (!plan) return bad_input(p.file + ": point " + p.id + ": " + plan.error().message);
    // The very work the simulator costs: the path's step 0 where it has ring steps, else the rank's tiles.
    const std::vector<StepKernel> steps = path_model(s.path).ring_steps(*plan);
    const KernelWork work = steps.empty() ? plan_tiles(plan->work.rank_tiles(0), plan->work.rank_rows(0)) : steps.front().work;
    kernels.push_back({k->name, p.backward, p.model.head_dim, kernel_shape(work, 128, p.model.q_heads, p.model.head_dim, p.backward, *k, hw),
                       p.published_us});
  }
  return std::make_pair(std::move(kernels), std::move(comm));
}

}  // namespace cpsim
