// Reads and writes MEASURED.json.
#include "measurement.h"

namespace cpsim {

namespace {

Json steps_json(const std::vector<MeasuredStep>& steps) {
  Json out = Json::array();
  for (const MeasuredStep& s : steps) {
    out.push_back({{"rank", s.rank}, {"step", s.step}, {"compute_us", s.compute_us}, {"comm_us", s.comm_us},
                   {"full_tiles", s.full_tiles}, {"partial_tiles", s.partial_tiles}, {"active_rows", s.active_rows},
                   {"max_row_tiles", s.max_row_tiles},
                   {"comm_bytes", s.comm_bytes}});
  }
  return out;
}

}  // namespace

Comparability comparable_with_prediction(const Measurement& m) {
  if (!m.predicted.is_object() || !m.predicted.contains("forward_compute_us")) return {false, "the plan has no prediction"};
  const Json kind = m.predicted.value("device_kind", Json());
  const auto predicted = kind.is_string() ? parse_device_kind(kind.get<std::string>()) : std::nullopt;
  if (!predicted) return {false, "the prediction does not record its profile's device kind (plan it again with this cpsim)"};
  if (*predicted != m.device_kind) {
    return {false, "the prediction is for a " + std::string(device_kind_name(*predicted)) + " profile and this run was on a " +
                       std::string(device_kind_name(m.device_kind))};
  }
  // Predictions written before kernels were named carry none: they compare as before.
  const Json kernel = m.predicted.value("kernel", Json());
  if (kernel.is_string() && !m.strategy.kernel.empty() && kernel.get<std::string>() != m.strategy.kernel) {
    return {false, "the prediction is for the " + kernel.get<std::string>() + " kernel and this run executed " + m.strategy.kernel +
                       " (predict with --kernel " + m.strategy.kernel + " to compare)"};
  }
  return {true, ""};
}

RankTotals rank_totals(const std::vector<MeasuredStep>& steps, std::int64_t rank) {
  RankTotals t;
  for (const MeasuredStep& s : steps) {
    if (s.rank != rank) continue;
    t.compute_us += s.compute_us;
    t.comm_us += s.comm_us;
  }
  return t;
}

std::optional<double> predicted_rank_us(const Json& predicted, const std::string& key, std::int64_t rank) {
  if (!predicted.is_object() || !predicted.contains(key) || !predicted[key].is_array() || rank < 0 ||
      predicted[key].size() <= static_cast<std::size_t>(rank)) {
    return std::nullopt;
  }
  double sum = 0;
  for (const auto& v : predicted[key][static_cast<std::size_t>(rank)]) {
    if (v.is_number()) sum += v.get<double>();
  }
  return sum;
}

Json measurement_to_json(const Measurement& m) {
  Json steps = steps_json(m.steps);
  Json doc = Json::object();
  doc["schema_version"] = kMeasurementSchemaVersion;
  doc["plan"] = m.plan_source;
  doc["workload_digest"] = m.workload_digest;
  doc["executor"] = m.executor;
  doc["device_kind"] = device_kind_name(m.device_kind);
  doc["device"] = m.device;
  doc["driver"] = m.driver;
  doc["commit"] = m.commit;
  doc["world_size"] = m.world_size;
  doc["strategy"] = strategy_to_json(m.strategy);
  doc["tile_size"] = m.tile_size;
  doc["shape"] = {{"q_heads", m.q_heads}, {"kv_heads", m.kv_heads}, {"head_dim", m.head_dim}};
  doc["total_us"] = m.total_us;
  doc["max_abs_error"] = m.max_abs_error;
  doc["max_rel_error"] = m.max_rel_error;
  doc["tolerance"] = m.tolerance;
  doc["verified"] = m.verified;
  doc["predicted"] = m.predicted;
  doc["steps"] = std::move(steps);
  if (m.backward.ran) {
    const MeasuredBackward& b = m.backward;
    doc["backward"] = {{"total_us", b.total_us}, {"max_abs_error", b.max_abs_error}, {"max_rel_error", b.max_rel_error},
                       {"tolerance", b.tolerance}, {"verified", b.verified}, {"steps", steps_json(b.steps)}};
  }
  return doc;
}

Result<Measurement> load_measurement(const std::string& path) {
  CPSIM_ASSIGN_OR_RETURN(const Json doc, read_json_file(path));
  const FieldReader rd(path);
  if (auto ok = rd.expect_object(doc, ""); !ok) return ok.error();
  CPSIM_ASSIGN_OR_RETURN(const Json* version, rd.member(doc, "", "schema_version"));
  if (*version != Json(kMeasurementSchemaVersion)) {
    return rd.error("schema_version", "unsupported version " + describe_value(*version) + " (this cpsim reads 1)");
  }
  Measurement m;
  auto text = [&](const char* key, std::string& out) -> Status {
    CPSIM_ASSIGN_OR_RETURN(const Json* node, rd.member(doc, "", key));
    CPSIM_ASSIGN_OR_RETURN(out, rd.string(*node, key));
    return Ok{};
  };
  auto integer = [&](const Json& obj, const std::string& field, const char* key, std::int64_t& out) -> Status {
    CPSIM_ASSIGN_OR_RETURN(const Json* node, rd.member(obj, field, key));
    CPSIM_ASSIGN_OR_RETURN(out, rd.integer(*node, FieldReader::join(field, key)));
    return Ok{};
  };
  auto number = [&](const Json& obj, const std::string& field, const char* key, double& out) -> Status {
    CPSIM_ASSIGN_OR_RETURN(const Json* node, rd.member(obj, field, key));
    if (!node->is_number() || !std::isfinite(node->get<double>()) || node->get<double>() < 0) {
      return rd.error(FieldReader::join(field, key), "expected a non-negative number, got " + describe_value(*node));
    }
    out = node->get<double>();
    return Ok{};
  };
  for (auto [key, out] : {std::pair{"executor", &m.executor}, std::pair{"device", &m.device}}) {
    if (auto ok = text(key, *out); !ok) return ok.error();
  }
  // Files written before these fields: the kind from the executor, the strategy from the path and rotate method.
  CPSIM_ASSIGN_OR_RETURN(const std::string kind, rd.optional_string(doc, "", "device_kind", m.executor == "cuda" ? "gpu" : "cpu"));
  const auto parsed_kind = parse_device_kind(kind);
  if (!parsed_kind) return rd.error("device_kind", "expected \"cpu\" or \"gpu\", got " + describe_value(Json(kind)));
  m.device_kind = *parsed_kind;
  if (doc.contains("strategy")) {
    CPSIM_ASSIGN_OR_RETURN(m.strategy, strategy_from_json(doc["strategy"], rd, "strategy"));
  } else {
    std::string path, rotate;
    if (auto ok = text("attention_path", path); !ok) return ok.error();
    if (auto ok = text("rotate", rotate); !ok) return ok.error();
    const auto p = parse_path(path);
    const auto r = parse_rotate(rotate);
    if (!p) return rd.error("attention_path", "unknown attention path " + describe_value(Json(path)) + " (expected one of: " + path_names() + ")");
    if (!r) return rd.error("rotate", "unknown rotate method " + describe_value(Json(rotate)) + " (expected allgather or alltoall)");
    m.strategy.path = *p;
    m.strategy.rotate = *r;
    m.strategy.gather_stages = *p == AttentionPath::kSparseGather ? 1 : 0;
  }
  CPSIM_ASSIGN_OR_RETURN(m.plan_source, rd.optional_string(doc, "", "plan", ""));
  CPSIM_ASSIGN_OR_RETURN(m.workload_digest, rd.optional_string(doc, "", "workload_digest", ""));
  CPSIM_ASSIGN_OR_RETURN(m.driver, rd.optional_string(doc, "", "driver", ""));
  CPSIM_ASSIGN_OR_RETURN(m.commit, rd.optional_string(doc, "", "commit", ""));
  if (auto ok = integer(doc, "", "world_size", m.world_size); !ok) return ok.error();
  if (auto ok = integer(doc, "", "tile_size", m.tile_size); !ok) return ok.error();
  CPSIM_ASSIGN_OR_RETURN(const Json* shape, rd.member(doc, "", "shape"));
  if (auto ok = rd.expect_object(*shape, "shape"); !ok) return ok.error();
  for (auto [key, out] : {std::pair{"q_heads", &m.q_heads}, std::pair{"kv_heads", &m.kv_heads}, std::pair{"head_dim", &m.head_dim}}) {
    if (auto ok = integer(*shape, "shape", key, *out); !ok) return ok.error();
  }
  for (auto [key, out] : {std::pair{"total_us", &m.total_us}, std::pair{"max_abs_error", &m.max_abs_error},
                          std::pair{"max_rel_error", &m.max_rel_error}, std::pair{"tolerance", &m.tolerance}}) {
    if (auto ok = number(doc, "", key, *out); !ok) return ok.error();
  }
  auto flag = [&](const Json& obj, const std::string& field, const char* key, bool& out) -> Status {
    CPSIM_ASSIGN_OR_RETURN(const Json* node, rd.member(obj, field, key));
    if (!node->is_boolean()) return rd.error(FieldReader::join(field, key), "expected true or false, got " + describe_value(*node));
    out = node->get<bool>();
    return Ok{};
  };
  if (auto ok = flag(doc, "", "verified", m.verified); !ok) return ok.error();
  if (doc.contains("predicted")) m.predicted = doc["predicted"];
  auto read_steps = [&](const Json& obj, const std::string& parent, std::vector<MeasuredStep>& into) -> Status {
    CPSIM_ASSIGN_OR_RETURN(const Json* steps, rd.member(obj, parent, "steps"));
    const std::string list = FieldReader::join(parent, "steps");
    if (auto ok = rd.expect_array(*steps, list); !ok) return ok.error();
    for (std::size_t i = 0; i < steps->size(); ++i) {
      const Json& s = (*steps)[i];
      const std::string field = FieldReader::index(list, i);
      if (auto ok = rd.expect_object(s, field); !ok) return ok.error();
      MeasuredStep st;
      for (auto [key, out] : {std::pair{"rank", &st.rank}, std::pair{"step", &st.step}, std::pair{"full_tiles", &st.full_tiles},
                              std::pair{"partial_tiles", &st.partial_tiles}, std::pair{"active_rows", &st.active_rows}}) {
        if (auto ok = integer(s, field, key, *out); !ok) return ok.error();
      }
      if (s.contains("max_row_tiles")) {  // absent in files written before it was recorded
        if (auto ok = integer(s, field, "max_row_tiles", st.max_row_tiles); !ok) return ok.error();
      }
      for (auto [key, out] : {std::pair{"compute_us", &st.compute_us}, std::pair{"comm_us", &st.comm_us},
                              std::pair{"comm_bytes", &st.comm_bytes}}) {
        if (auto ok = number(s, field, key, *out); !ok) return ok.error();
      }
      into.push_back(st);
    }
    return Ok{};
  };
  if (auto ok = read_steps(doc, "", m.steps); !ok) return ok.error();
  if (doc.contains("backward")) {  // only when the backward pass ran
    const Json& b = doc["backward"];
    if (auto ok = rd.expect_object(b, "backward"); !ok) return ok.error();
    MeasuredBackward& mb = m.backward;
    mb.ran = true;
    for (auto [key, out] : {std::pair{"total_us", &mb.total_us}, std::pair{"max_abs_error", &mb.max_abs_error},
                            std::pair{"max_rel_error", &mb.max_rel_error}, std::pair{"tolerance", &mb.tolerance}}) {
      if (auto ok = number(b, "backward", key, *out); !ok) return ok.error();
    }
    if (auto ok = flag(b, "backward", "verified", mb.verified); !ok) return ok.error();
    if (auto ok = read_steps(b, "backward", mb.steps); !ok) return ok.error();
  }
  return m;
}

}  // namespace cpsim
