// Parses and writes workload files, checking types, ranges and the sums of document lengths. Its errors teach:
// a missing field shows a minimal valid file, and a file that is not a workload but a dataset's lengths (text,
// CSV, JSONL, .npy) or a BATCHES.jsonl names the command that reads it.
#include "workload_json.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace cpsim {
namespace {

constexpr std::string_view kMinimalWorkload =
    R"({"schema_version":1,"seq_len":16,"mask":{"kind":"document_causal"},"documents":[[4,8,4]],)"
    R"("model":{"q_heads":32,"kv_heads":8,"head_dim":128,"dtype":"bf16"}})";

// Member `key` of `object`; when it is missing, the one error line also shows a file that has every field (or,
// for a field only some mask kinds take, the mask with it).
Result<const Json*> required(const FieldReader& rd, const Json& object, const std::string& field, std::string_view key,
                             const std::string& example = "a minimal workload: " + std::string(kMinimalWorkload)) {
  auto node = rd.member(object, field, key);
  if (!node) return bad_input(node.error().message + "; " + example);
  return node;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

bool is_integer_line(std::string_view line) {
  if (const auto hash = line.find('#'); hash != std::string_view::npos) line = trim(line.substr(0, hash));
  if (!line.empty() && line[0] == '-') line.remove_prefix(1);
  return !line.empty() && line.size() <= 20 && line.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string shell_word(const std::string& path) {
  if (!path.empty() && path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+=:,@%") == std::string::npos) {
    return path;
  }
  std::string out = "'";
  for (const char c : path) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string import_command(const std::string& path, std::string_view format, std::string_view extra) {
  std::string cmd = "cpsim import " + shell_word(path);
  if (!ends_with(path, "." + std::string(format))) cmd += " --format " + std::string(format);
  return cmd + std::string(extra) + " --seq-len 8192 --rows 8 --out workload.json";
}

std::string member_list(const Json& object) {
  std::string list;
  int n = 0;
  for (const auto& [key, value] : object.items()) {
    if (n++ == 8) {
      list += ", ...";
      break;
    }
    list += (list.empty() ? "" : ", ") + key;
  }
  return list;
}

// When `text` (not a workload) looks like a file that another command reads, what to say about it; else "".
std::string not_a_workload_hint(std::string_view text, const std::string& path) {
  if (text.rfind("\x93NUMPY", 0) == 0) {
    return "; it is a NumPy .npy file: if it holds document lengths, make a workload of them with " + import_command(path, "npy", "");
  }
  text = text.substr(0, 1 << 16);
  std::vector<std::string_view> lines;  // the first lines with content
  for (std::size_t at = 0; at < text.size() && lines.size() < 20;) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = trim(text.substr(at, end - at));
    if (!line.empty() && line[0] != '#') lines.push_back(line);
    at = end + 1;
  }
  if (lines.empty()) return "";
  if (std::all_of(lines.begin(), lines.end(), is_integer_line)) {
    return "; it looks like a list of document lengths, one a line: make a workload of them with " + import_command(path, "txt", "");
  }
  if (lines.size() < 2) return "";
  const std::string_view first = lines[0], second = lines[1];
  if (first[0] == '{' && second[0] == '{') {
    auto object = parse_json_text(first, path);
    if (!object || !object->is_object()) return "";
    if (object->contains("schema_version") && object->contains("documents")) {
      return "; it looks like BATCHES.jsonl, one workload a line: plan it with cpsim batch " + shell_word(path) + " -w 8 -o plans";
    }
    return "; it looks like JSONL, one object a line: if a member holds each document's length or token ids, make a workload with " +
           import_command(path, "jsonl", " --field NAME") + " (members: " + member_list(*object) + ")";
  }
  const bool quoted_header = first[0] == '"' && first.find("\",") != std::string_view::npos;  // "id","len"
  if (first[0] != '{' && first[0] != '[' && (first[0] != '"' || quoted_header) && first.find(',') != std::string_view::npos &&
      second.find(',') != std::string_view::npos) {
    std::string columns(first.substr(0, 80));
    if (first.size() > 80) columns += "...";
    return "; it looks like CSV: if a column holds document lengths, make a workload with " + import_command(path, "csv", " --column NAME") +
           " (header: " + columns + ")";
  }
  return "";
}

Result<Mask> mask_from_json(const Json& doc, const FieldReader& rd) {
  auto node = required(rd, doc, "", "mask");
  if (!node) return node.error();
  const Json& m = **node;
  if (auto ok = rd.expect_object(m, "mask"); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(m, "mask", {"kind", "window", "prefix"}); !ok) return ok.error();
  auto kind_node = required(rd, m, "mask", "kind");
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
    auto w = required(rd, m, "mask", "window", "for example " R"("mask":{"kind":")" + *kind_name + R"(","window":4096})");
    if (!w) return w.error();
    auto value = rd.integer(**w, "mask.window");
    if (!value) return value.error();
    mask.window = *value;
  } else if (m.contains("window")) {
    return rd.error("mask.window", "only sliding-window kinds take a window; mask.kind is " + *kind_name);
  }
  if (mask_needs_prefix(mask.kind)) {
    auto p = required(rd, m, "mask", "prefix", "for example " R"("mask":{"kind":"prefix_lm","prefix":1024})");
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
  auto node = required(rd, doc, "", "model");
  if (!node) return node.error();
  const Json& m = **node;
  if (auto ok = rd.expect_object(m, "model"); !ok) return ok.error();
  if (auto ok = rd.expect_only_keys(m, "model", {"q_heads", "kv_heads", "head_dim", "dtype"}); !ok) return ok.error();
  ModelShape shape;
  for (auto [key, out] : {std::pair{"q_heads", &shape.q_heads}, std::pair{"kv_heads", &shape.kv_heads},
                          std::pair{"head_dim", &shape.head_dim}}) {
    auto v = required(rd, m, "model", key);
    if (!v) return v.error();
    auto value = rd.integer(**v, FieldReader::join("model", key));
    if (!value) return value.error();
    *out = *value;
  }
  auto d = required(rd, m, "model", "dtype");
  if (!d) return d.error();
  auto dtype = rd.string(**d, "model.dtype");
  if (!dtype) return dtype.error();
  shape.dtype = *dtype;
  return shape;
}

Result<std::vector<std::vector<std::int64_t>>> documents_from_json(const Json& doc, const FieldReader& rd) {
  auto node = required(rd, doc, "", "documents");
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
  if (auto ok = rd.expect_object(doc, ""); !ok) {
    if (doc.is_number_integer() || doc.is_number_unsigned()) {
      return bad_input(ok.error().message + "; a document length? cpsim import makes workloads from files of them");
    }
    return ok.error();
  }
  if (auto ok = rd.expect_only_keys(doc, "", {"schema_version", "seq_len", "mask", "documents", "model", "description"}); !ok) {
    return ok.error();
  }
  auto version_node = required(rd, doc, "", "schema_version");
  if (!version_node) return version_node.error();
  auto version = rd.integer(**version_node, "schema_version");
  if (!version) return version.error();
  if (*version != kWorkloadSchemaVersion) {
    return rd.error("schema_version", "unsupported version " + std::to_string(*version) + " (this cpsim reads " +
                                          std::to_string(kWorkloadSchemaVersion) + ")");
  }
  Workload w;
  auto seq_node = required(rd, doc, "", "seq_len");
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
  CPSIM_ASSIGN_OR_RETURN(const std::string text, read_input_file(path));
  auto doc = parse_json_text(text, path);
  if (!doc) return bad_input(doc.error().message + not_a_workload_hint(text, path));
  if (!doc->is_object()) {
    const FieldReader rd(path);
    return bad_input(rd.expect_object(*doc, "").error().message + not_a_workload_hint(text, path));
  }
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
