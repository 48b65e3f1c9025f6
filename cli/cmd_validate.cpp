// `cpsim validate`: every published measurement of data/validation/ predicted by the simulator itself,
// predicted against published, and the median, p90 and max |error| of the fit and check splits.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "core/json_fields.h"
#include "core/text_format.h"
#include "sim/validation.h"

namespace cpsim::cli {
namespace {

struct ValidateOptions {
  std::string hardware;  // empty: every hardware tag
  std::string data;
  bool json = false;
  double fail_above = 0;  // > 0: exit 3 when the check split's median |error| is above it
};

// "-" where an excluded point has no prediction (cpsim cannot run its setting).
std::string duration(double us) {
  if (std::isnan(us)) return "-";
  return us < 1000 ? fixed(us, 1) + " us" : fixed(us / 1000, 3) + " ms";
}

std::string signed_percent(double e) { return std::isnan(e) ? "-" : (e >= 0 ? "+" : "") + percent(e); }

// What a group of points is called in the summary: the kernel, the collective or "cp (W GPUs)".
std::string group_of(const ValidationPoint& p) {
  if (p.kind == PointKind::kCollective) return std::string(comm_op_name(p.op));
  if (p.kind == PointKind::kCp) return "cp on " + p.kernel;
  return p.kernel;
}

Json stats_json(const SplitStats& s) { return {{"points", s.points}, {"median", s.median}, {"p90", s.p90}, {"max", s.max}}; }

int run_validate(const ValidateOptions& o) {
  const std::string dir = o.data.empty() ? validation_dir() : o.data;
  auto points = load_validation(dir);
  if (!points) return report(points.error());
  std::map<std::string, HardwareProfile> profiles;
  if (!o.hardware.empty()) {
    auto hw = find_hardware_profile(o.hardware);
    if (!hw) return report(hw.error());
    const std::string tag = hw->name;
    profiles.emplace(tag, std::move(*hw));
    if (std::none_of(points->begin(), points->end(), [&](const ValidationPoint& p) { return p.hardware == tag; })) {
      return report(bad_input("--hardware: no published measurement in " + dir + " is for " + tag));
    }
  }
  const std::string tag = o.hardware.empty() ? "" : profiles.begin()->first;
  auto results = predict_points(*points, tag, profiles);
  if (!results) return report(results.error());
  const SplitStats check = split_stats(*results, Split::kCheck), fit = split_stats(*results, Split::kFit);
  std::map<std::string, std::vector<PointResult>> groups;
  std::map<std::string, std::size_t> sources;
  for (const PointResult& r : *results) {
    if (r.point->split == Split::kCheck) groups[group_of(*r.point)].push_back(r);
    if (r.point->split != Split::kExcluded) ++sources[r.point->file];
  }
  if (o.json) {
    Json rows = Json::array();
    for (const PointResult& r : *results) {
      const ValidationPoint& p = *r.point;
      rows.push_back({{"id", p.id}, {"file", p.file}, {"source", p.source}, {"url", p.url}, {"hardware", p.hardware},
                      {"setting", p.setting()}, {"split", split_name(p.split)}, {"why", p.why}, {"published_us", p.published_us},
                      {"predicted_us", std::isnan(r.predicted_us) ? Json(nullptr) : Json(r.predicted_us)},
                      {"error", std::isnan(r.error) ? Json(nullptr) : Json(r.error)}});
    }
    Json by = Json::object();
    for (const auto& [name, g] : groups) by[name] = stats_json(split_stats(g, Split::kCheck));
    Json estimates = Json::object();
    for (const auto& [name, hw] : profiles) estimates[name] = hw.estimates;
    std::cout << json_text(Json{{"data", dir}, {"hardware", o.hardware}, {"sources", sources.size()}, {"check", stats_json(check)},
                                {"fit", stats_json(fit)}, {"check_by_group", by}, {"points", rows}, {"estimates", estimates}},
                           2)
              << "\n";
  } else {
    Table t({"point", "setting", "split", "published", "predicted", "error"}, {true, true, true, false, false, false});
    for (const PointResult& r : *results) {
      const ValidationPoint& p = *r.point;
      t.add_row({p.id, p.setting(), std::string(split_name(p.split)), duration(p.published_us), duration(r.predicted_us), signed_percent(r.error)});
    }
    std::cout << "published measurements in " << dir << (tag.empty() ? "" : " for " + tag) << ": " << results->size() << " points from "
              << sources.size() << " sources (each point's source: cpsim validate --json, or the files)\n\n"
              << t.render() << "\n";
    Table s({"split", "points", "median |error|", "p90 |error|", "max |error|"}, {true, false, false, false, false});
    s.add_row({"check (never fitted)", std::to_string(check.points), percent(check.median), percent(check.p90), percent(check.max)});
    s.add_row({"fit (set the constants)", std::to_string(fit.points), percent(fit.median), percent(fit.p90), percent(fit.max)});
    for (const auto& [name, g] : groups) {
      const SplitStats x = split_stats(g, Split::kCheck);
      s.add_row({"  check: " + name, std::to_string(x.points), percent(x.median), percent(x.p90), percent(x.max)});
    }
    std::cout << s.render();
    std::vector<PointResult> worst;
    for (const PointResult& r : *results) {
      if (r.point->split == Split::kCheck) worst.push_back(r);
    }
    std::sort(worst.begin(), worst.end(), [](const PointResult& a, const PointResult& b) { return std::abs(a.error) > std::abs(b.error); });
    if (!worst.empty()) {
      std::cout << "\nworst check points:\n";
      for (std::size_t i = 0; i < std::min<std::size_t>(5, worst.size()); ++i) {
        std::cout << "  " << signed_percent(worst[i].error) << "  " << worst[i].point->id << ": " << worst[i].point->source << "\n";
      }
    }
    bool any_excluded = false;
    for (const PointResult& r : *results) {
      if (r.point->split != Split::kExcluded) continue;
      if (!any_excluded) std::cout << "\nexcluded (shown, not scored):\n";
      any_excluded = true;
      std::cout << "  " << r.point->id << ": " << r.point->why << "\n";
    }
    for (const auto& [name, hw] : profiles) {
      if (hw.estimates.empty()) continue;
      std::cout << "\n" << name << ": " << hw.estimates.size() << " constants are estimates, not measurements (cpsim kernels --hardware "
                << name << " marks them; --json lists them all):\n";
      // By kernel and pass, or link and operation: "kernels.fa2.forward: 3 (launch_us, hdim256.cta_overhead_tiles, ...)".
      std::vector<std::pair<std::string, std::vector<std::string>>> groups;
      for (const std::string& e : hw.estimates) {
        std::size_t cut = 0;
        for (int dots = 0; dots < 3 && cut != std::string::npos; ++dots) cut = e.find('.', cut == 0 ? 0 : cut + 1);
        const std::string head = cut == std::string::npos ? e : e.substr(0, cut);
        const std::string leaf = cut == std::string::npos ? "" : e.substr(cut + 1);
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == head; });
        if (it == groups.end()) it = groups.insert(groups.end(), {head, {}});
        if (!leaf.empty()) it->second.push_back(leaf);
      }
      for (const auto& [head, leaves] : groups) {
        std::cout << "  " << head;
        if (!leaves.empty()) {
          std::cout << ": " << leaves.size() << " (";
          for (std::size_t i = 0; i < std::min<std::size_t>(4, leaves.size()); ++i) std::cout << (i ? ", " : "") << leaves[i];
          std::cout << (leaves.size() > 4 ? ", ...)" : ")");
        }
        std::cout << "\n";
      }
    }
  }
  if (o.fail_above > 0 && check.median > o.fail_above) {
    return report(Error{ErrorCode::kVerificationFailed, "validate: the check split's median |error| " + percent(check.median) +
                                                            " is above --fail-above " + percent(o.fail_above)});
  }
  return 0;
}

}  // namespace

Command add_validate_command(CLI::App& root) {
  auto o = std::make_shared<ValidateOptions>();
  CLI::App* sub = root.add_subcommand("validate", "Predict every published measurement (data/validation/) and report the error");
  sub->footer("Examples:\n  cpsim validate\n  cpsim validate --hardware h100-sxm-8x --json");
  sub->add_option("--hardware", o->hardware, "Only the points of this profile (name or file); default: every profile the data names");
  sub->add_option("--data", o->data, "Folder of validation files (default: the shipped data/validation)")->check(non_empty_path());
  sub->add_flag("--json", o->json, "Print every point and the statistics as JSON");
  sub->add_option("--fail-above", o->fail_above, "Exit 3 when the check split's median |error| is above this fraction (e.g. 0.15)")
      ->check(finite(0, 10));
  return {sub, [o] { return run_validate(*o); }};
}

}  // namespace cpsim::cli
