// cpsim.Workload: document lengths per row, a mask kind and the model's attention shape; from and to the workload JSON.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "core/workload_json.h"
#include "dataset/packing.h"
#include "python/src/bindings.h"

namespace cpsim::py {

namespace {

// One row of document lengths from any sequence of integers (a list, a tuple, a numpy array).
std::vector<std::int64_t> row_of(nb::handle row, std::size_t index) {
  try {
    return nb::cast<std::vector<std::int64_t>>(row);
  } catch (const nb::cast_error&) {
    throw nb::type_error(("documents[" + std::to_string(index) + "]: expected a sequence of integer document lengths").c_str());
  }
}

PyWorkload make_workload(nb::handle documents, const std::string& mask, std::optional<std::int64_t> seq_len, std::int64_t window,
                         std::int64_t prefix, std::int64_t q_heads, std::int64_t kv_heads, std::int64_t head_dim, const std::string& dtype,
                         const std::string& description) {
  if (!nb::isinstance<nb::sequence>(documents) && !nb::hasattr(documents, "__array__")) {
    throw nb::type_error("documents: expected one sequence of document lengths per row (or one row)");
  }
  PyWorkload w;
  w.source = "workload";
  // One flat sequence of integers is one row.
  const nb::sequence seq = nb::borrow<nb::sequence>(documents);
  const std::size_t n = nb::len(documents);
  const bool one_row = n > 0 && (nb::isinstance<nb::int_>(documents[0]) || nb::hasattr(documents, "ndim") && nb::cast<int>(documents.attr("ndim")) == 1);
  if (one_row) {
    w.workload.documents.push_back(row_of(documents, 0));
  } else {
    for (std::size_t i = 0; i < n; ++i) w.workload.documents.push_back(row_of(seq[i], i));
  }
  const auto kind = parse_mask_kind(mask);
  if (!kind) throw Error("workload: mask: unknown mask kind \"" + mask + "\" (expected one of: " + all_mask_kind_names() + ")");
  w.workload.mask = {*kind, window, prefix};
  if (seq_len) {
    w.workload.seq_len = *seq_len;
  } else if (!w.workload.documents.empty()) {
    for (const std::int64_t len : w.workload.documents.front()) {
      if (len > 0 && w.workload.seq_len <= kMaxTokens) w.workload.seq_len += len;
    }
  }
  w.workload.model = {q_heads, kv_heads, head_dim, dtype};
  w.workload.description = description;
  raise_if_error(validate_workload(w.workload, w.source));
  return w;
}

PyWorkload from_json_text(const std::string& text, const std::string& source) {
  const Json doc = value_or_raise(parse_json_text(text, source));
  return {value_or_raise(workload_from_json(doc, source)), source};
}

PyWorkload load(const std::string& path) { return {value_or_raise(load_workload(path)), path}; }

PyWorkload from_lengths(const std::vector<std::int64_t>& lengths, std::int64_t seq_len, const std::string& pack, bool split_long,
                        bool drop_last, std::int64_t rows, std::int64_t multiple_of, const std::string& mask, std::int64_t q_heads,
                        std::int64_t kv_heads, std::int64_t head_dim, const std::string& dtype) {
  const auto strategy = parse_pack_strategy(pack);
  if (!strategy) throw Error("--pack: unknown packing \"" + pack + "\" (expected concat, ffd or best_fit)");
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] < 1 || lengths[i] > kMaxTokens) {
      throw Error("lengths[" + std::to_string(i) + "]: " + std::to_string(lengths[i]) + " is not a document length (1 to " +
                  std::to_string(kMaxTokens) + " tokens)");
    }
  }
  PackSpec spec;
  spec.seq_len = seq_len;
  spec.strategy = *strategy;
  spec.split_long = split_long;
  spec.drop_last = drop_last;
  spec.max_rows = rows > 0 ? rows : kMaxTokens;  // 0: every row
  spec.multiple_of = multiple_of;
  const PackedRows packed = value_or_raise(pack_documents(lengths, spec, "lengths"));
  PyWorkload w;
  w.source = "workload";
  w.workload.seq_len = seq_len;
  w.workload.documents = packed.documents(0, packed.rows());
  const auto kind = parse_mask_kind(mask);
  if (!kind) throw Error("workload: mask: unknown mask kind \"" + mask + "\" (expected one of: " + all_mask_kind_names() + ")");
  w.workload.mask = {*kind, 0, 0};
  w.workload.model = {q_heads, kv_heads, head_dim, dtype};
  w.workload.description = "packed (" + pack + ") from " + std::to_string(lengths.size()) + " document lengths";
  raise_if_error(validate_workload(w.workload, w.source));
  return w;
}

}  // namespace

void bind_workload(nb::module_& m) {
  nb::class_<PyWorkload>(m, "Workload",
                         "A batch of packed rows (document lengths per row), one mask kind and the model's attention shape.\n\n"
                         "Immutable: every planning call reads it without the GIL.")
      .def(nb::new_([](nb::handle documents, const std::string& mask, std::optional<std::int64_t> seq_len, std::int64_t window,
                       std::int64_t prefix, std::int64_t q_heads, std::int64_t kv_heads, std::int64_t head_dim, const std::string& dtype,
                       const std::string& description) {
             return make_workload(documents, mask, seq_len, window, prefix, q_heads, kv_heads, head_dim, dtype, description);
           }),
           nb::arg("documents"), nb::arg("mask") = "document_causal", nb::kw_only(), nb::arg("seq_len") = nb::none(),
           nb::arg("window") = 0, nb::arg("prefix") = 0, nb::arg("q_heads") = 32, nb::arg("kv_heads") = 8, nb::arg("head_dim") = 128,
           nb::arg("dtype") = "bf16", nb::arg("description") = "",
           "Document lengths per batch row (a list of rows, or one row; lists, tuples or numpy arrays of integers), each row\n"
           "summing to seq_len (default: the first row's sum). mask: causal, full, document_causal, document_full,\n"
           "sliding_window, document_sliding_window (with window) or prefix_lm (with prefix). Raises cpsim.Error naming the\n"
           "field and value when the workload is not valid.")
      .def_static("from_json", &from_json_text, nb::arg("text"), nb::arg("source") = "workload",
                  "A workload from the workload JSON's text (schema_version 1, as `cpsim generate` writes).")
      .def_static("load", &load, nb::arg("path"), "A workload from a workload JSON file.")
      .def_static("from_lengths", &from_lengths, nb::arg("lengths"), nb::arg("seq_len"), nb::kw_only(), nb::arg("pack") = "concat",
                  nb::arg("split_long") = false, nb::arg("drop_last") = false, nb::arg("rows") = 0, nb::arg("multiple_of") = 1,
                  nb::arg("mask") = "document_causal", nb::arg("q_heads") = 32, nb::arg("kv_heads") = 8, nb::arg("head_dim") = 128,
                  nb::arg("dtype") = "bf16",
                  "Packs a data set's document lengths into rows of seq_len tokens as `cpsim import` does: pack='concat'\n"
                  "(Megatron-LM, torchtitan: concatenate and cut at row ends), 'ffd' or 'best_fit' (no cutting; split_long cuts\n"
                  "documents longer than a row). rows keeps the first rows (0: all); a row that is not full is padded.")
      .def("to_json", [](const PyWorkload& w) { return json_text(workload_to_json(w.workload), 2); },
           "The workload JSON's text (what `cpsim plan` reads).")
      .def("save", [](const PyWorkload& w, const std::string& path) { raise_if_error(save_workload(w.workload, path)); }, nb::arg("path"),
           "Writes the workload JSON (atomically: no half-written file).")
      .def_prop_ro("seq_len", [](const PyWorkload& w) { return w.workload.seq_len; }, "Tokens per row.")
      .def_prop_ro("rows", [](const PyWorkload& w) { return w.workload.rows(); }, "Batch rows.")
      .def_prop_ro("documents", [](const PyWorkload& w) { return w.workload.documents; }, "Document lengths per row (a copy).")
      .def_prop_ro("mask", [](const PyWorkload& w) { return std::string(mask_kind_name(w.workload.mask.kind)); }, "The mask kind.")
      .def_prop_ro("window", [](const PyWorkload& w) { return w.workload.mask.window; }, "Sliding-window size (sliding kinds).")
      .def_prop_ro("prefix", [](const PyWorkload& w) { return w.workload.mask.prefix; }, "Prefix length (prefix_lm).")
      .def_prop_ro("q_heads", [](const PyWorkload& w) { return w.workload.model.q_heads; })
      .def_prop_ro("kv_heads", [](const PyWorkload& w) { return w.workload.model.kv_heads; })
      .def_prop_ro("head_dim", [](const PyWorkload& w) { return w.workload.model.head_dim; })
      .def_prop_ro("dtype", [](const PyWorkload& w) { return w.workload.model.dtype; })
      .def_prop_ro("description", [](const PyWorkload& w) { return w.workload.description; })
      .def_prop_ro("source", [](const PyWorkload& w) { return w.source; }, "The file it was read from, or 'workload'.")
      .def("__repr__", [](const PyWorkload& w) {
        std::size_t docs = 0;
        for (const auto& row : w.workload.documents) docs += row.size();
        return "Workload(rows=" + std::to_string(w.workload.rows()) + ", seq_len=" + std::to_string(w.workload.seq_len) + ", documents=" +
               std::to_string(docs) + ", mask=" + std::string(mask_kind_name(w.workload.mask.kind)) + ")";
      });
}

}  // namespace cpsim::py
