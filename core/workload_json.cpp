// Parses and writes workload files, checking types, ranges and the sums of document lengths.
#include "workload_json.h"

#include <cstdio>

namespace cpsim {
namespace {

Result<Mask> mask_from_json(const Json& doc, const FieldReader& rd) {
  auto node = rd.member(doc, "", "mask");
  if (!node) return node.error();
  const Json& m = **node;
  if (auto ok = rd.expect_object(m, "mask"); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(m, "mask", {"kind", "window", "prefix"}); !ok) return ok.error();
  auto kind_node = rd.member(m, "mask", "kind");
  if (!kind_node) return kind_node.error();
  auto kind_name = rd.string(**kind_node, "mask.kind");
  if (!kind_name) return kind_name.error();
  const auto kind = parse_mask_kind(*kind_name);
  if (!kind) {
    return rd.error("mask.kind", "unknown mask kind \"" + *kind_name + "\" (expected one of: " + all_mask_kind_names() + ")");
  }
  Mask mask;
  mask.kind = *kind;
  if (mask_needs_window(mask.kind)) {
    auto w = rd.member(m, "mask", "window");
    if (!w) return w.error();
    auto value = rd.integer(**w, "mask.window");
    if (!value) return value.error();
    mask.window = *value;
  } else if (m.contains("window")) {
    return rd.error("mask.window", "only sliding-window kinds take a window; mask.kind is " + *kind_name);
  }
  if (mask_needs_prefix(mask.kind)) {
    auto p = rd.member(m, "mask", "prefix");
    if (!p) return p.error();
    auto value = rd.integer(**p, "mask.prefix");
    if (!value) return value.error();
    mask.prefix = *value;
  } else if (m.contains("prefix")) {
    return rd.error("mask.prefix", "only prefix_lm takes a prefix; mask.kind is " + *kind_name);
  }
  return mask;
}

Result<ModelShape> model_from_json(const Json& doc, const FieldReader& rd) {
  auto node = rd.member(doc, "", "model");
  if (!node) return node.error();
  const Json& m = **node;
  if (auto ok = rd.expect_object(m, "model"); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(m, "model", {"q_heads", "kv_heads", "head_dim", "dtype"}); !ok) return ok.error();
  ModelShape shape;
  for (auto [key, out] : {std::pair{"q_heads", &shape.q_heads}, std::pair{"kv_heads", &shape.kv_heads},
                          std::pair{"head_dim", &shape.head_dim}}) {
    auto v = rd.member(m, "model", key);
    if (!v) return v.error();
    auto value = rd.integer(**v, FieldReader::join("model", key));
    if (!value) return value.error();
    *out = *value;
  }
  auto d = rd.member(m, "model", "dtype");
  if (!d) return d.error();
  auto dtype = rd.string(**d, "model.dtype");
  if (!dtype) return dtype.error();
  shape.dtype = *dtype;
  return shape;
}

Result<std::vector<std::vector<std::int64_t>>> documents_from_json(const Json& doc, const FieldReader& rd) {
  auto node = rd.member(doc, "", "documents");
  if (!node) return node.error();
  const Json& rows = **node;
  if (auto ok = rd.expect_array(rows, "documents"); !ok) return ok.error();
  std::vector<std::vector<std::int64_t>> out;
  out.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::string field = FieldReader::index("documents", r);
    if (auto ok = rd.expect_array(rows[r], field); !ok) return ok.error();
    std::vector<std::int64_t> lengths;
    lengths.reserve(rows[r].size());
    for (std::size_t d = 0; d < rows[r].size(); ++d) {
      auto v = rd.integer(rows[r][d], FieldReader::index(field, d));
      if (!v) return v.error();
      lengths.push_back(*v);
    }
    out.push_back(std::move(lengths));
  }
  return out;
}

}  // namespace

Result<Workload> workload_from_json(const Json& doc, const std::string& source) {
  const FieldReader rd(source);
  if (auto ok = rd.expect_object(doc, ""); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(doc, "", {"schema_version", "seq_len", "mask", "documents", "model", "description"}); !ok) {
    return ok.error();
  }
  auto version_node = rd.member(doc, "", "schema_version");
  if (!version_node) return version_node.error();
  auto version = rd.integer(**version_node, "schema_version");
  if (!version) return version.error();
  if (*version != kWorkloadSchemaVersion) {
    return rd.error("schema_version", "unsupported version " + std::to_string(*version) + " (this cpsim reads " +
                                          std::to_string(kWorkloadSchemaVersion) + ")");
  }
  Workload w;
  auto seq_node = rd.member(doc, "", "seq_len");
  if (!seq_node) return seq_node.error();
  auto seq_len = rd.integer(**seq_node, "seq_len");
  if (!seq_len) return seq_len.error();
  w.seq_len = *seq_len;
  auto mask = mask_from_json(doc, rd);
  if (!mask) return mask.error();
  w.mask = *mask;
  auto documents = documents_from_json(doc, rd);
  if (!documents) return documents.error();
  w.documents = std::move(*documents);
  auto model = model_from_json(doc, rd);
  if (!model) return model.error();
  w.model = *model;
  if (doc.contains("description")) {
    auto text = rd.string(doc["description"], "description");
    if (!text) return text.error();
    w.description = *text;
  }
  if (auto ok = validate_workload(w, source); !ok) return ok.error();
  return w;
}

Result<Workload> load_workload(const std::string& path) {
  auto doc = read_json_file(path);
  if (!doc) return doc.error();
  return workload_from_json(*doc, path);
}

Json workload_to_json(const Workload& w) {
  Json mask = {{"kind", std::string(mask_kind_name(w.mask.kind))}};
  if (mask_needs_window(w.mask.kind)) mask["window"] = w.mask.window;
  if (mask_needs_prefix(w.mask.kind)) mask["prefix"] = w.mask.prefix;
  Json doc = Json::object();
  doc["schema_version"] = kWorkloadSchemaVersion;
  if (!w.description.empty()) doc["description"] = w.description;
  doc["seq_len"] = w.seq_len;
  doc["mask"] = mask;
  doc["model"] = {{"q_heads", w.model.q_heads}, {"kv_heads", w.model.kv_heads}, {"head_dim", w.model.head_dim},
                  {"dtype", w.model.dtype}};
  doc["documents"] = w.documents;
  return doc;
}

Status save_workload(const Workload& workload, const std::string& path) {
  return write_file_atomically(path, dump_members_per_line(workload_to_json(workload)));
}

std::string workload_digest(const Workload& workload) {
  Json canonical = workload_to_json(workload);
  canonical.erase("description");
  return content_digest(json_text(canonical));
}

}  // namespace cpsim
