// cpsim.Workload: document lengths per row, a mask kind and the model's attention shape; from and to the workload JSON.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "core/workload_json.h"
#include "dataset/packing.h"
#include "python/src/bindings.h"

namespace cpsim::py {

namespace {

// An integer scalar (an int or a numpy integer), not an array (numpy arrays have __index__ too).
bool is_integer(nb::handle x) { return PyIndex_Check(x.ptr()) && !nb::hasattr(x, "__len__"); }

PyWorkload make_workload(nb::handle documents, nb::handle mask, nb::handle seq_len, nb::handle window, nb::handle prefix,
                         nb::handle q_heads, nb::handle kv_heads, nb::handle head_dim, nb::handle dtype, nb::handle description) {
  PyWorkload w;
  w.source = "workload";
  // One flat sequence of integers (or a 1-D numpy array) is one row; otherwise one sequence per row.
  const bool array = nb::hasattr(documents, "ndim");
  const bool one_row = array ? nb::cast<int>(documents.attr("ndim")) == 1
                             : nb::isinstance<nb::sequence>(documents) && !nb::isinstance<nb::str>(documents) && nb::len(documents) > 0 &&
                                   is_integer(nb::borrow<nb::sequence>(documents)[0]);
  if (one_row) {
    w.workload.documents.push_back(int_list_arg(documents, "documents"));
  } else if (array && nb::cast<int>(documents.attr("ndim")) == 2) {
    std::size_t i = 0;
    for (nb::handle row : documents) w.workload.documents.push_back(int_list_arg(row, "documents[" + std::to_string(i++) + "]"));
  } else {
    if (!nb::isinstance<nb::sequence>(documents) || nb::isinstance<nb::str>(documents) || array) {
      throw nb::type_error(("documents: expected one sequence of document lengths per row (or one row), got " +
                            std::string(Py_TYPE(documents.ptr())->tp_name)).c_str());
    }
    std::size_t i = 0;
    for (nb::handle row : documents) w.workload.documents.push_back(int_list_arg(row, "documents[" + std::to_string(i++) + "]"));
  }
  const std::string mask_name = str_arg(mask, "mask");
  const auto kind = parse_mask_kind(mask_name);
  if (!kind) throw Error("workload: mask: unknown mask kind \"" + mask_name + "\" (expected one of: " + all_mask_kind_names() + ")");
  w.workload.mask = {*kind, int_arg(window, "window"), int_arg(prefix, "prefix")};
  if (!seq_len.is_none()) {
    w.workload.seq_len = int_arg(seq_len, "seq_len");
  } else if (!w.workload.documents.empty()) {
    for (const std::int64_t len : w.workload.documents.front()) {
      if (len > 0 && w.workload.seq_len <= kMaxTokens) w.workload.seq_len += len;
    }
  }
  w.workload.model = {int_arg(q_heads, "q_heads"), int_arg(kv_heads, "kv_heads"), int_arg(head_dim, "head_dim"), str_arg(dtype, "dtype")};
  w.workload.description = str_arg(description, "description");
  raise_if_error(validate_workload(w.workload, w.source));
  return w;
}

PyWorkload from_json_text(nb::handle text, nb::handle source) {
  const std::string where = str_arg(source, "source");
  const Json doc = value_or_raise(parse_json_text(str_arg(text, "text"), where));
  return {value_or_raise(workload_from_json(doc, where)), where};
}

PyWorkload load(nb::handle path) {
  const std::string p = path_arg(path, "path");
  return {value_or_raise(load_workload(p)), p};
}

PyWorkload from_lengths(nb::handle lengths_arg, nb::handle seq_len, nb::handle pack_arg, bool split_long, bool drop_last, nb::handle rows_arg,
                        nb::handle multiple_of, nb::handle mask, nb::handle q_heads, nb::handle kv_heads, nb::handle head_dim, nb::handle dtype) {
  const std::vector<std::int64_t> lengths = int_list_arg(lengths_arg, "lengths");
  const std::string pack = str_arg(pack_arg, "pack");
  const auto strategy = parse_pack_strategy(pack);
  if (!strategy) throw Error("--pack: unknown packing \"" + pack + "\" (expected concat, ffd or best_fit)");
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] < 1 || lengths[i] > kMaxTokens) {
      throw Error("lengths[" + std::to_string(i) + "]: " + std::to_string(lengths[i]) + " is not a document length (1 to " +
                  std::to_string(kMaxTokens) + " tokens)");
    }
  }
  const std::int64_t rows = int_arg(rows_arg, "rows");
  if (rows < 0) throw Error("rows: " + std::to_string(rows) + " is not a number of rows (0 keeps every row)");
  PackSpec spec;
  spec.seq_len = int_arg(seq_len, "seq_len");
  spec.strategy = *strategy;
  spec.split_long = split_long;
  spec.drop_last = drop_last;
  spec.max_rows = rows > 0 ? rows : kMaxTokens;  // 0: every row
  spec.multiple_of = int_arg(multiple_of, "multiple_of");
  const PackedRows packed = value_or_raise(pack_documents(lengths, spec, "lengths"));
  PyWorkload w;
  w.source = "workload";
  w.workload.seq_len = spec.seq_len;
  w.workload.documents = packed.documents(0, packed.rows());
  const std::string mask_name = str_arg(mask, "mask");
  const auto kind = parse_mask_kind(mask_name);
  if (!kind) throw Error("workload: mask: unknown mask kind \"" + mask_name + "\" (expected one of: " + all_mask_kind_names() + ")");
  w.workload.mask = {*kind, 0, 0};
  w.workload.model = {int_arg(q_heads, "q_heads"), int_arg(kv_heads, "kv_heads"), int_arg(head_dim, "head_dim"), str_arg(dtype, "dtype")};
  w.workload.description = "packed (" + pack + ") from " + std::to_string(lengths.size()) + " document lengths";
  raise_if_error(validate_workload(w.workload, w.source));
  return w;
}

}  // namespace

void bind_workload(nb::module_& m) {
  nb::class_<PyWorkload>(m, "Workload",
                         "A batch of packed rows (document lengths per row), one mask kind and the model's attention shape.\n\n"
                         "Immutable: every planning call reads it without the GIL.")
      .def(nb::new_(&make_workload), nb::arg("documents").none(), nb::arg("mask").none() = "document_causal", nb::kw_only(),
           nb::arg("seq_len").none() = nb::none(), nb::arg("window").none() = 0, nb::arg("prefix").none() = 0, nb::arg("q_heads").none() = 32,
           nb::arg("kv_heads").none() = 8, nb::arg("head_dim").none() = 128, nb::arg("dtype").none() = "bf16",
           nb::arg("description").none() = "",
           "Document lengths per batch row (a list of rows, or one row; lists, tuples or numpy arrays of integers), each row\n"
           "summing to seq_len (default: the first row's sum). mask: causal, full, document_causal, document_full,\n"
           "sliding_window, document_sliding_window (with window) or prefix_lm (with prefix). Raises cpsim.Error naming the\n"
           "field and value when the workload is not valid, TypeError for a value of the wrong type.")
      .def_static("from_json", &from_json_text, nb::arg("text").none(), nb::arg("source").none() = "workload",
                  nb::sig("def from_json(text: str, source: str = 'workload') -> Workload"),
                  "A workload from the workload JSON's text (schema_version 1, as `cpsim generate` writes).")
      .def_static("load", &load, nb::arg("path").none(), nb::sig("def load(path: str | os.PathLike) -> Workload"),
                  "A workload from a workload JSON file.")
      .def_static("from_lengths", &from_lengths, nb::arg("lengths").none(), nb::arg("seq_len").none(), nb::kw_only(),
                  nb::arg("pack").none() = "concat", nb::arg("split_long") = false, nb::arg("drop_last") = false, nb::arg("rows").none() = 0,
                  nb::arg("multiple_of").none() = 1, nb::arg("mask").none() = "document_causal", nb::arg("q_heads").none() = 32,
                  nb::arg("kv_heads").none() = 8, nb::arg("head_dim").none() = 128, nb::arg("dtype").none() = "bf16",
                  nb::sig("def from_lengths(lengths: Sequence[int] | numpy.typing.ArrayLike, seq_len: int, *, pack: str = 'concat', "
                          "split_long: bool = False, drop_last: bool = False, rows: int = 0, multiple_of: int = 1, "
                          "mask: str = 'document_causal', q_heads: int = 32, kv_heads: int = 8, head_dim: int = 128, dtype: str = 'bf16') "
                          "-> Workload"),
                  "Packs a data set's document lengths into rows of seq_len tokens as `cpsim import` does: pack='concat'\n"
                  "(Megatron-LM, torchtitan: concatenate and cut at row ends), 'ffd' or 'best_fit' (no cutting; split_long cuts\n"
                  "documents longer than a row). rows keeps the first rows (0: all); a row that is not full is padded.")
      .def("to_json", [](const PyWorkload& w) { return json_text(workload_to_json(w.workload), 2); },
           "The workload JSON's text (what `cpsim plan` reads).")
      .def("save", [](const PyWorkload& w, nb::handle path) { raise_if_error(save_workload(w.workload, path_arg(path, "path"))); },
           nb::arg("path").none(), nb::sig("def save(self, path: str | os.PathLike) -> None"),
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
      .def("__eq__", [](const PyWorkload& a, const PyWorkload& b) { return workload_to_json(a.workload) == workload_to_json(b.workload); },
           "Same rows, mask and model (the file it came from aside).")
      .def("__eq__", [](const PyWorkload&, nb::handle) { return false; })
      .def("__hash__", [](const PyWorkload& w) { return std::hash<std::string>{}(workload_digest(w.workload)); })
      .def("__repr__", [](const PyWorkload& w) {
        std::size_t docs = 0;
        for (const auto& row : w.workload.documents) docs += row.size();
        return "Workload(rows=" + std::to_string(w.workload.rows()) + ", seq_len=" + std::to_string(w.workload.seq_len) + ", documents=" +
               std::to_string(docs) + ", mask=" + std::string(mask_kind_name(w.workload.mask.kind)) + ")";
      });
}

}  // namespace cpsim::py
