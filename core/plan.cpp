// Builds plans and writes PLAN.json.
#include "plan.h"

#include <charconv>

#include "json_fields.h"
#include "workload_json.h"

namespace cpsim {

Result<Plan> make_plan(const Workload& workload, const std::string& source, std::string_view balancer_name,
                       std::int64_t world_size, std::int64_t block_size) {
  const Balancer* balancer = find_balancer(balancer_name);
  if (balancer == nullptr) {
    return bad_input("--balancer: unknown balancer \"" + std::string(balancer_name) + "\" (expected one of: " +
                     balancer_names() + ")");
  }
  if (world_size > kMaxWorldSize) {
    return bad_input("--world-size: " + std::to_string(world_size) + " exceeds the largest supported CP degree " +
                     std::to_string(kMaxWorldSize));
  }
  auto perms = balancer->rearrange({workload, world_size, block_size, source});
  if (!perms) return perms.error();
  Plan plan;
  plan.workload = workload;
  plan.workload_source = source;
  plan.balancer = std::string(balancer->name());
  plan.world_size = world_size;
  plan.block_size = block_size;
  plan.layouts.reserve(perms->size());
  for (std::size_t row = 0; row < perms->size(); ++row) {
    auto layout = RowLayout::from_rearrange(std::move((*perms)[row]), world_size,
                                            plan.balancer + " rearrange_indices[" + std::to_string(row) + "]");
    if (!layout) return layout.error();
    plan.layouts.push_back(std::move(*layout));
  }
  plan.work = account_work(workload, plan.layouts, block_size);
  return plan;
}

namespace {

// Index lists are the bulk of a plan (2 x rows x S integers); write them directly rather than through a DOM.
void append_index_rows(std::string& out, const std::vector<RowLayout>& layouts, bool restore) {
  out += '[';
  char buf[24];
  for (std::size_t row = 0; row < layouts.size(); ++row) {
    if (row > 0) out += ',';
    out += '[';
    const auto& v = restore ? layouts[row].restore() : layouts[row].rearrange();
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out += ',';
      const auto res = std::to_chars(buf, buf + sizeof buf, v[i]);
      out.append(buf, res.ptr);
    }
    out += ']';
  }
  out += ']';
}

Json work_to_json(const WorkAccount& work) {
  const std::int64_t w = work.world_size();
  Json ranks = Json::array();
  const double total = static_cast<double>(work.total_pairs());
  for (std::int64_t r = 0; r < w; ++r) {
    const TileCounts t = work.rank_tiles(r);
    const std::int64_t all_tiles = work.tiles_per_shard() * work.tiles_per_shard() * w * work.rows_accounted;
    ranks.push_back({{"rank", r},
                     {"pairs", work.rank_pairs(r)},
                     {"pair_share", total > 0 ? static_cast<double>(work.rank_pairs(r)) / total : 0.0},
                     {"full_tiles", t.full},
                     {"partial_tiles", t.partial},
                     {"empty_tiles", all_tiles - t.nonempty()}});
  }
  Json pairs = Json::array();
  Json full = Json::array();
  Json partial = Json::array();
  for (std::int64_t r = 0; r < w; ++r) {
    Json p = Json::array(), f = Json::array(), q = Json::array();
    for (std::int64_t i = 0; i < w; ++i) {
      p.push_back(work.step_pairs(r, i));
      f.push_back(work.step_tiles(r, i).full);
      q.push_back(work.step_tiles(r, i).partial);
    }
    pairs.push_back(std::move(p));
    full.push_back(std::move(f));
    partial.push_back(std::move(q));
  }
  return {{"tile_size", work.tile_size()},
          {"total_pairs", work.total_pairs()},
          {"pair_imbalance", work.pair_imbalance()},
          {"tile_imbalance", work.tile_imbalance()},
          {"per_rank", std::move(ranks)},
          {"per_rank_step", {{"note", "row r, column i: rank r's Q shard against the KV shard of rank (r - i) mod W"},
                             {"pairs", std::move(pairs)},
                             {"full_tiles", std::move(full)},
                             {"partial_tiles", std::move(partial)}}}};
}

}  // namespace

std::string plan_to_json_text(const Plan& plan) {
  Json head = Json::object();
  head["schema_version"] = kPlanSchemaVersion;
  head["workload_source"] = plan.workload_source;
  head["workload_digest"] = workload_digest(plan.workload);
  head["workload"] = workload_to_json(plan.workload);
  head["world_size"] = plan.world_size;
  head["balancer"] = plan.balancer;
  head["block_size"] = plan.block_size;
  head["work"] = work_to_json(plan.work);
  std::string out = dump_members_per_line(head);
  out.resize(out.size() - 3);  // reopen the object: drop "\n}\n"
  out += ",\n  \"rearrange_indices\": ";
  append_index_rows(out, plan.layouts, false);
  out += ",\n  \"restore_indices\": ";
  append_index_rows(out, plan.layouts, true);
  out += "\n}\n";
  return out;
}

Status save_plan(const Plan& plan, const std::string& path) { return write_file_atomically(path, plan_to_json_text(plan)); }

}  // namespace cpsim
