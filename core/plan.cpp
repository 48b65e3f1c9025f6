// Builds plans and writes PLAN.json.
#include "plan.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>

#include "json_fields.h"
#include "mask.h"
#include "workload_json.h"

namespace cpsim {

std::vector<std::int64_t> nearest_world_sizes(const Workload& workload, std::int64_t world_size, std::int64_t max_world_size) {
  const std::int64_t top = std::min({max_world_size, kMaxWorldSize, workload.seq_len});
  auto fits = [&](std::int64_t w) { return w >= 1 && w <= top && workload.seq_len % w == 0; };
  std::vector<std::int64_t> out;
  for (std::int64_t w = std::min(world_size - 1, top); w >= 1; --w) {
    if (fits(w)) {
      out.push_back(w);
      break;
    }
  }
  for (std::int64_t w = std::max<std::int64_t>(world_size + 1, 1); w <= top; ++w) {
    if (fits(w)) {
      out.push_back(w);
      break;
    }
  }
  return out;
}

std::string nearest_world_sizes_text(const Workload& workload, std::int64_t world_size, std::int64_t max_world_size) {
  // Only a W that cannot split the rows (or exceeds a limit) has neighbours that do better: otherwise the reason
  // lies elsewhere (a kernel, a mask) and another W would not cure it.
  const std::int64_t top = std::min({max_world_size, kMaxWorldSize, workload.seq_len});
  if (world_size >= 1 && world_size <= top && workload.seq_len % world_size == 0) return "";
  const std::vector<std::int64_t> near = nearest_world_sizes(workload, world_size, max_world_size);
  if (near.empty()) return "";
  std::string list = std::to_string(near[0]);
  if (near.size() > 1) list += " and " + std::to_string(near[1]);
  return "; nearest that work: " + list + " (divisors of seq_len " + std::to_string(workload.seq_len) + " up to " + std::to_string(top) + ")";
}

Status check_world_size(std::int64_t world_size, const Workload& workload, const std::string& source) {
  if (world_size <= 0) return bad_input("--world-size: must be a positive number of ranks, got " + std::to_string(world_size));
  if (world_size > kMaxWorldSize) {
    return bad_input("--world-size: " + std::to_string(world_size) + " exceeds the largest supported CP degree " +
                     std::to_string(kMaxWorldSize) + nearest_world_sizes_text(workload, world_size, kMaxWorldSize));
  }
  if (world_size > workload.seq_len) {
    return bad_input("--world-size: " + std::to_string(world_size) + " ranks exceed " + source + "'s seq_len of " +
                     std::to_string(workload.seq_len) + " tokens (every rank needs at least one)" +
                     nearest_world_sizes_text(workload, world_size, kMaxWorldSize));
  }
  return Ok{};
}

namespace {

// What is wrong with block size T for this workload, or nothing.
std::optional<std::string> block_size_problem(std::int64_t block_size, const Workload& workload, const std::string& source) {
  if (block_size <= 0 || block_size > kMaxBlockSize) {
    return "must be from 1 to " + std::to_string(kMaxBlockSize) + ", got " + std::to_string(block_size);
  }
  std::int64_t tiles = 0;
  for (const auto& docs : workload.documents) {
    const RowMask mask(workload.mask, workload.seq_len, docs);
    for (const std::int64_t n : nonempty_kv_blocks(mask, workload.seq_len, block_size)) tiles += n;
    if (tiles > kMaxTiles) {
      return std::to_string(block_size) + " cuts " + source + " into more than " + std::to_string(kMaxTiles) +
             " non-empty tiles (2^30) to account; use a larger block size";
    }
  }
  return std::nullopt;
}

}  // namespace

Status check_block_size(std::int64_t block_size, const Workload& workload, const std::string& source) {
  if (const auto why = block_size_problem(block_size, workload, source)) return bad_input("--block-size: " + *why);
  return Ok{};
}

Result<Plan> make_plan(const Workload& workload, const std::string& source, std::string_view balancer_name,
                       std::int64_t world_size, std::int64_t block_size) {
  const Balancer* balancer = find_balancer(balancer_name);
  if (balancer == nullptr) {
    return bad_input("--balancer: unknown balancer \"" + std::string(balancer_name) + "\" (expected one of: " +
                     balancer_names() + ")");
  }
  CPSIM_RETURN_IF_ERROR(check_world_size(world_size, workload, source));
  CPSIM_RETURN_IF_ERROR(check_block_size(block_size, workload, source));
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
                     {"empty_tiles", all_tiles - t.nonempty()},
                     {"active_rows", work.rank_rows(r).active_rows},
                     {"max_row_tiles", work.rank_rows(r).max_row_tiles}});
  }
  Json pairs = Json::array();
  Json full = Json::array();
  Json partial = Json::array();
  Json rows = Json::array(), longest = Json::array();
  for (std::int64_t r = 0; r < w; ++r) {
    Json p = Json::array(), f = Json::array(), q = Json::array(), a = Json::array(), m = Json::array();
    for (std::int64_t i = 0; i < w; ++i) {
      p.push_back(work.step_pairs(r, i));
      f.push_back(work.step_tiles(r, i).full);
      q.push_back(work.step_tiles(r, i).partial);
      a.push_back(work.step_rows(r, i).active_rows);
      m.push_back(work.step_rows(r, i).max_row_tiles);
    }
    pairs.push_back(std::move(p));
    full.push_back(std::move(f));
    partial.push_back(std::move(q));
    rows.push_back(std::move(a));
    longest.push_back(std::move(m));
  }
  return {{"tile_size", work.tile_size()},
          {"total_pairs", work.total_pairs()},
          {"pair_imbalance", work.pair_imbalance()},
          {"tile_imbalance", work.tile_imbalance()},
          {"per_rank", std::move(ranks)},
          {"per_rank_step", {{"note", "row r, column i: rank r's Q shard against the KV shard of rank (r - i) mod W"},
                             {"pairs", std::move(pairs)},
                             {"full_tiles", std::move(full)},
                             {"partial_tiles", std::move(partial)},
                             {"active_rows", std::move(rows)},
                             {"max_row_tiles", std::move(longest)}}}};
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
  if (plan.strategy) {
    assert(plan.strategy->balancer == plan.balancer);
    head["strategy"] = strategy_to_json(*plan.strategy);
    head["attention_path"] = path_name(plan.strategy->path);
    head["rotate"] = rotate_name(plan.strategy->rotate);
    if (plan.strategy->ulysses > 1) head["ulysses"] = plan.strategy->ulysses;
    head["hardware"] = plan.hardware;
    head["predicted"] = plan.predicted;
  }
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

namespace {

Result<std::vector<std::vector<std::int64_t>>> index_rows(const Json& doc, const FieldReader& rd, std::string_view key,
                                                          const Workload& w) {
  CPSIM_ASSIGN_OR_RETURN(const Json* node, rd.member(doc, "", key));
  const std::string field(key);
  if (auto ok = rd.expect_array(*node, field); !ok) return ok.error();
  if (static_cast<std::int64_t>(node->size()) != w.rows()) {
    return rd.error(field, "has " + std::to_string(node->size()) + " rows but the workload has " + std::to_string(w.rows()));
  }
  std::vector<std::vector<std::int64_t>> rows;
  for (std::size_t r = 0; r < node->size(); ++r) {
    const Json& row = (*node)[r];
    const std::string row_field = FieldReader::index(field, r);
    if (auto ok = rd.expect_array(row, row_field); !ok) return ok.error();
    if (static_cast<std::int64_t>(row.size()) != w.seq_len) {
      return rd.error(row_field, "has " + std::to_string(row.size()) + " indices but seq_len is " + std::to_string(w.seq_len));
    }
    std::vector<std::int64_t> v;
    v.reserve(row.size());
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (!row[i].is_number_integer()) return rd.error(FieldReader::index(row_field, i), "expected an integer, got " + describe_value(row[i]));
      v.push_back(row[i].get<std::int64_t>());
    }
    rows.push_back(std::move(v));
  }
  return rows;
}

// The plan's strategy: the "strategy" object, whose path, rotate method and Ulysses degree must agree with the
// top-level copies; or, in plans written before it, those top-level fields alone (nothing when absent).
Result<std::optional<Strategy>> read_strategy(const Json& doc, const FieldReader& rd, const std::string& balancer) {
  std::optional<Strategy> s;
  if (doc.contains("strategy")) {
    CPSIM_ASSIGN_OR_RETURN(s, strategy_from_json(doc["strategy"], rd, "strategy"));
    if (s->balancer != balancer) {
      return rd.error("strategy.balancer", describe_value(Json(s->balancer)) + " differs from balancer " +
                                               describe_value(Json(balancer)) + "; the file was edited");
    }
  }
  std::optional<Strategy> legacy;
  if (doc.contains("rotate")) {
    legacy = Strategy{};
    legacy->balancer = balancer;
    CPSIM_ASSIGN_OR_RETURN(const Json* rotate_node, rd.member(doc, "", "rotate"));
    CPSIM_ASSIGN_OR_RETURN(const std::string rotate, rd.string(*rotate_node, "rotate"));
    const auto r = parse_rotate(rotate);
    if (!r) return rd.error("rotate", "unknown rotate method " + describe_value(Json(rotate)) + " (expected allgather or alltoall)");
    legacy->rotate = *r;
    // Without a path, the block-sparse path of that rotate method (what the executors ran such plans with).
    CPSIM_ASSIGN_OR_RETURN(const std::string path, rd.optional_string(doc, "", "attention_path",
                                                                    *r == RotateMethod::kAllGather ? "flex_allgather" : "sparse_ring"));
    const auto p = parse_path(path);
    if (!p) return rd.error("attention_path", "unknown attention path " + describe_value(Json(path)) + " (expected one of: " + path_names() + ")");
    legacy->path = *p;
    if (legacy->path == AttentionPath::kSparseGather) legacy->gather_stages = 1;
    if (doc.contains("ulysses")) {
      CPSIM_ASSIGN_OR_RETURN(legacy->ulysses, rd.integer(doc["ulysses"], "ulysses"));
      if (legacy->ulysses < 1 || legacy->ulysses > kMaxWorldSize) {
        return rd.error("ulysses", "must be a Ulysses degree from 1 to " + std::to_string(kMaxWorldSize) + ", got " +
                                       std::to_string(legacy->ulysses));
      }
    }
  } else if (doc.contains("attention_path") || doc.contains("ulysses")) {
    return rd.error(doc.contains("ulysses") ? "ulysses" : "attention_path", "given without rotate");
  }
  if (!s) return legacy;
  if (!legacy || legacy->path != s->path || legacy->rotate != s->rotate || legacy->ulysses != s->ulysses) {
    return rd.error("strategy", strategy_text(*s) + " differs from the top-level attention_path, rotate and ulysses (or they are "
                                "missing); the file was edited");
  }
  return s;
}

}  // namespace

Result<Plan> load_plan(const std::string& path) {
  CPSIM_ASSIGN_OR_RETURN(const Json doc, read_json_file(path));
  return plan_from_json(doc, path);
}

namespace {

// What execute and the Python module read of a recorded prediction, checked against the plan it sits in: finite,
// non-negative times, and per-(rank, step) tables of W x W (a plan whose world_size was edited keeps no stale one).
Status check_predicted(const Json& p, std::int64_t world_size, const FieldReader& rd) {
  if (!p.is_object()) return rd.error("predicted", "expected an object, got " + describe_value(p));
  for (const char* key : {"step_us", "forward_us", "backward_us", "lower_bound_us"}) {
    if (!p.contains(key)) continue;
    const Json& v = p[key];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
      return rd.error(std::string("predicted.") + key, "expected a non-negative time in microseconds, got " + describe_value(v));
    }
  }
  for (const char* key : {"forward_compute_us", "forward_comm_us", "backward_compute_us", "backward_comm_us"}) {
    if (!p.contains(key)) continue;
    const Json& table = p[key];
    const std::string field = std::string("predicted.") + key;
    if (!table.is_array() || static_cast<std::int64_t>(table.size()) != world_size) {
      return rd.error(field, "expected " + std::to_string(world_size) + " rows (one per rank of world_size), got " + describe_value(table));
    }
    for (std::size_t r = 0; r < table.size(); ++r) {
      const Json& row = table[r];
      if (!row.is_array() || static_cast<std::int64_t>(row.size()) != world_size) {
        return rd.error(field + "[" + std::to_string(r) + "]", "expected " + std::to_string(world_size) + " steps, got " + describe_value(row));
      }
      for (const Json& v : row) {
        if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
          return rd.error(field + "[" + std::to_string(r) + "]", "expected non-negative times, got " + describe_value(v));
        }
      }
    }
  }
  return Ok{};
}

}  // namespace

Result<Plan> plan_from_json(const Json& doc, const std::string& path) {
  const FieldReader rd(path);
  if (auto ok = rd.expect_object(doc, ""); !ok) return ok.error();
  CPSIM_ASSIGN_OR_RETURN(const Json* version, rd.member(doc, "", "schema_version"));
  if (*version != Json(kPlanSchemaVersion)) {
    return rd.error("schema_version", "unsupported version " + describe_value(*version) + " (this cpsim reads 1)");
  }
  CPSIM_ASSIGN_OR_RETURN(const Json* wl, rd.member(doc, "", "workload"));
  CPSIM_ASSIGN_OR_RETURN(Workload workload, workload_from_json(*wl, path + ": workload"));
  // The digest is what tells an edited workload from the one the indices were made for: required.
  CPSIM_ASSIGN_OR_RETURN(const Json* digest_node, rd.member(doc, "", "workload_digest"));
  CPSIM_ASSIGN_OR_RETURN(const std::string digest, rd.string(*digest_node, "workload_digest"));
  if (digest != workload_digest(workload)) {
    return rd.error("workload_digest", digest + " does not match the embedded workload (" + workload_digest(workload) +
                                           "); the plan was edited after it was made");
  }
  Plan plan;
  plan.workload = workload;
  CPSIM_ASSIGN_OR_RETURN(plan.workload_source, rd.optional_string(doc, "", "workload_source", path));
  CPSIM_ASSIGN_OR_RETURN(const Json* world, rd.member(doc, "", "world_size"));
  CPSIM_ASSIGN_OR_RETURN(plan.world_size, rd.integer(*world, "world_size"));
  if (plan.world_size <= 0 || plan.world_size > kMaxWorldSize || workload.seq_len % plan.world_size != 0) {
    return rd.error("world_size", std::to_string(plan.world_size) + " does not split seq_len " + std::to_string(workload.seq_len) +
                                      " into equal shards (1 <= W <= " + std::to_string(kMaxWorldSize) + ")");
  }
  CPSIM_ASSIGN_OR_RETURN(const Json* balancer, rd.member(doc, "", "balancer"));
  CPSIM_ASSIGN_OR_RETURN(plan.balancer, rd.string(*balancer, "balancer"));
  CPSIM_ASSIGN_OR_RETURN(const Json* block, rd.member(doc, "", "block_size"));
  CPSIM_ASSIGN_OR_RETURN(plan.block_size, rd.integer(*block, "block_size"));
  if (const auto why = block_size_problem(plan.block_size, workload, "the workload")) return rd.error("block_size", *why);
  CPSIM_ASSIGN_OR_RETURN(plan.strategy, read_strategy(doc, rd, plan.balancer));
  CPSIM_ASSIGN_OR_RETURN(plan.hardware, rd.optional_string(doc, "", "hardware", ""));
  if (doc.contains("predicted")) {
    CPSIM_RETURN_IF_ERROR(check_predicted(doc["predicted"], plan.world_size, rd));
    plan.predicted = doc["predicted"];
  }
  if (plan.strategy && plan.strategy->pure_ulysses && plan.world_size != 1) {
    return rd.error("world_size", std::to_string(plan.world_size) + " ranks, but pure Ulysses (" + strategy_text(*plan.strategy) +
                                      ") has no ring: its plan has one rank");
  }
  CPSIM_ASSIGN_OR_RETURN(auto rearrange, index_rows(doc, rd, "rearrange_indices", workload));
  CPSIM_ASSIGN_OR_RETURN(const auto restore, index_rows(doc, rd, "restore_indices", workload));
  for (std::size_t r = 0; r < rearrange.size(); ++r) {
    const std::string field = "rearrange_indices[" + std::to_string(r) + "]";
    CPSIM_ASSIGN_OR_RETURN(RowLayout layout, RowLayout::from_rearrange(std::move(rearrange[r]), plan.world_size, path + ": " + field));
    for (std::size_t p = 0; p < restore[r].size(); ++p) {
      if (restore[r][p] != layout.restore()[p]) {
        return rd.error("restore_indices[" + std::to_string(r) + "][" + std::to_string(p) + "]",
                        std::to_string(restore[r][p]) + " is not the slot of position " + std::to_string(p) + " (" +
                            std::to_string(layout.restore()[p]) + "): restore must be argsort(rearrange)");
      }
    }
    plan.layouts.push_back(std::move(layout));
  }
  plan.work = account_work(plan.workload, plan.layouts, plan.block_size);
  return plan;
}

}  // namespace cpsim
