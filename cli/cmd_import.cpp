// `cpsim import`: makes a workload (or BATCHES.jsonl) from a dataset's own document lengths in a text, CSV, JSONL
// or .npy file, packed into rows the way data loaders pack them. Reading and packing live in cpsim_dataset.
#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "cli/workload_flags.h"
#include "core/limits.h"
#include "core/text_format.h"
#include "core/workload_json.h"
#include "dataset/doc_lengths.h"
#include "dataset/packing.h"

namespace cpsim::cli {

namespace {

struct ImportOptions {
  std::string input;
  std::string format;  // empty: from the extension
  std::string column, field;
  std::int64_t seq_len = 0;
  bool packing = false;  // --seq-len given: pack into rows; else the documents as given, one row
  std::string pack = "concat";
  std::string pad = "document";
  bool split_long = false, drop_last = false;
  std::int64_t rows = 0, batch_size = 0, multiple_of = 1;
  std::string out;
  WorkloadFlags workload;
  // Flags that only packing takes, to refuse them without --seq-len.
  std::vector<CLI::Option*> packing_flags;
  CLI::Option* seq_len_flag = nullptr;
  CLI::Option* rows_flag = nullptr;
  CLI::Option* batch_size_flag = nullptr;
};

// The output must not replace the input: write_file_atomically knows only the inputs read through core/file_io,
// and the lengths are streamed, so the check is made here, by device and inode as there.
Status check_not_input(const std::string& out, const std::string& input) {
  struct stat a {}, b {};
  if (::stat(out.c_str(), &a) == 0 && ::stat(input.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
    return bad_input(out + ": cannot write: it is an input of this command; write the output elsewhere");
  }
  return Ok{};
}

// Rows that may be kept: one workload of at most 2^24 tokens, or BATCHES.jsonl of at most kMaxBatches lines (and
// 2^24 rows in memory).
std::int64_t rows_allowed(const ImportOptions& o) {
  return o.batch_size > 0 ? std::min(kMaxTokens, kMaxBatches * o.batch_size) : kMaxTokens / o.seq_len;
}

std::string percent(std::int64_t part, std::int64_t whole) {
  return format_number(whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0, "%.2f") + "%";
}

std::string stem(const std::string& path) {
  const auto dot = path.rfind('.'), slash = path.rfind('/');
  return dot == std::string::npos || (slash != std::string::npos && dot < slash) ? path : path.substr(0, dot);
}

// A CP degree every balancer can split rows of seq_len tokens for (2W divides it), at most 8 (one node).
std::int64_t suggested_world_size(std::int64_t seq_len) {
  for (std::int64_t w = 8; w > 1; w /= 2) {
    if (seq_len % (2 * w) == 0) return w;
  }
  return 1;
}

// The flags that made the output, for its description.
std::string import_command(const ImportOptions& o, LengthFormat format) {
  std::string cmd = "cpsim import " + o.input + " --format " + std::string(length_format_name(format));
  if (!o.column.empty()) cmd += " --column " + o.column;
  if (!o.field.empty()) cmd += " --field " + o.field;
  if (o.packing) {
    cmd += " --seq-len " + std::to_string(o.seq_len) + " --pack " + o.pack + " --pad " + o.pad;
    if (o.split_long) cmd += " --split-long";
    if (o.drop_last) cmd += " --drop-last";
    if (o.rows > 0) cmd += " --rows " + std::to_string(o.rows);
    if (o.batch_size > 0) cmd += " --batch-size " + std::to_string(o.batch_size);
  }
  if (o.multiple_of != 1) cmd += " --multiple-of " + std::to_string(o.multiple_of);
  const Mask& m = o.workload.mask;
  const ModelShape& s = o.workload.model;
  cmd += " --mask " + std::string(mask_kind_name(m.kind));
  if (mask_needs_window(m.kind)) cmd += " --window " + std::to_string(m.window);
  if (mask_needs_prefix(m.kind)) cmd += " --prefix " + std::to_string(m.prefix);
  cmd += " --q-heads " + std::to_string(s.q_heads) + " --kv-heads " + std::to_string(s.kv_heads) + " --head-dim " + std::to_string(s.head_dim) +
         " --dtype " + s.dtype;
  return cmd;
}

Status check_flags(ImportOptions& o, LengthFormat format) {
  if (!o.column.empty() && format != LengthFormat::kCsv) {
    return bad_input("--column: applies to CSV files (" + o.input + " is read as " + std::string(length_format_name(format)) + ")");
  }
  if (!o.field.empty() && format != LengthFormat::kJsonl) {
    return bad_input("--field: applies to JSONL files (" + o.input + " is read as " + std::string(length_format_name(format)) + ")");
  }
  CPSIM_RETURN_IF_ERROR(resolve_workload_flags(o.workload));
  if (o.multiple_of <= 0) return bad_input("--multiple-of: must be positive, got " + std::to_string(o.multiple_of));
  o.packing = o.seq_len_flag->count() > 0;
  if (!o.packing) {
    for (CLI::Option* flag : o.packing_flags) {
      if (flag->count() > 0) {
        return bad_input(flag->get_name() + ": packs rows, so needs --seq-len (without it the documents are written as given, as one row)");
      }
    }
  }
  if (!o.packing) return Ok{};
  if (o.seq_len <= 0 || o.seq_len > kMaxTokens) {
    return bad_input("--seq-len: must be from 1 to " + std::to_string(kMaxTokens) + " tokens (2^24), got " + std::to_string(o.seq_len));
  }
  const auto strategy = parse_pack_strategy(o.pack);
  if (!strategy) return bad_input("--pack: unknown packing \"" + o.pack + "\" (expected concat, ffd or best_fit)");
  if (o.split_long && *strategy == PackStrategy::kConcat) {
    return bad_input("--split-long: applies to --pack ffd and best_fit (concat cuts every document at row ends anyway)");
  }
  if (o.pad == "masked") {
    return bad_input(
        "--pad: masked is not supported: cpsim's masks give every query at least itself to attend to (an interval "
        "[lo(q), hi(q)] with hi(q) >= q), so a padding token that attends to nothing has no mask; use --pad document "
        "(padding as a document of its own, whose cost cpsim counts)");
  }
  if (o.pad != "document") return bad_input("--pad: unknown padding \"" + o.pad + "\" (expected document)");
  if (o.seq_len % o.multiple_of != 0) {
    return bad_input("--multiple-of: " + std::to_string(o.multiple_of) + " does not divide --seq-len " + std::to_string(o.seq_len));
  }
  if ((o.batch_size_flag->count() > 0 && o.batch_size <= 0) || o.batch_size > kMaxTokens / o.seq_len) {
    return bad_input("--batch-size: must be from 1 to " + std::to_string(kMaxTokens / o.seq_len) + " rows of " + std::to_string(o.seq_len) +
                     " tokens (2^24 tokens in one workload), got " + std::to_string(o.batch_size));
  }
  const std::int64_t most = rows_allowed(o);
  if ((o.rows_flag->count() > 0 && o.rows <= 0) || o.rows > most) {
    return bad_input("--rows: must be from 1 to " + std::to_string(most) +
                     (o.batch_size > 0 ? std::string(" rows") : " (2^24 tokens in one workload at --seq-len " + std::to_string(o.seq_len) + ")") +
                     ", got " + std::to_string(o.rows));
  }
  return Ok{};
}

Workload workload_of(const ImportOptions& o, const PackedRows& packed, std::int64_t first, std::int64_t count, const std::string& description) {
  Workload w;
  w.seq_len = packed.seq_len;
  w.mask = o.workload.mask;
  w.model = o.workload.model;
  w.documents = packed.documents(first, count);
  w.description = description;
  return w;
}

// "imported 100,000 documents (...) from x.txt: 2,048 rows x 8,192 tokens (concat) in w.json; ..."
std::string summary(const ImportOptions& o, const PackedRows& p, const std::string& where) {
  const PackStats& st = p.stats;
  std::string line = "imported " + with_commas(st.documents_in) + " documents (" + with_commas(st.tokens_in) + " tokens, longest " +
                     with_commas(st.longest_in) + ") from " + o.input + ": " + with_commas(p.rows()) + " row(s) x " + with_commas(p.seq_len) +
                     " tokens (" + (o.packing ? o.pack : std::string("as given")) + ") " + where;
  line += "; padding " + percent(st.padding(), p.rows() * p.seq_len);
  if (st.rounding_padding > 0) line += " (" + with_commas(st.rounding_padding) + " tokens of it inside documents, from --multiple-of)";
  if (o.packing) {
    const std::string how = o.pack == "concat" ? " cut at row ends" : " cut into " + with_commas(o.seq_len) + "-token pieces by --split-long";
    line += st.documents_cut > 0 ? ", " + with_commas(st.documents_cut) + (st.documents_cut == 1 ? " document" : " documents") + how : ", no document cut";
  }
  if (st.last_row_dropped) line += "; --drop-last dropped the last row, which was not full";
  const std::int64_t rows_left = st.rows_needed - p.rows() - (st.last_row_dropped ? 1 : 0);
  std::string left_out;
  if (rows_left > 0) left_out = with_commas(rows_left) + " more row(s) left out by --rows " + std::to_string(o.rows);
  if (st.tokens_left_out > 0) {
    left_out += (left_out.empty() ? "" : ": ") + with_commas(st.tokens_left_out) + " tokens of the input not written";
  }
  // Decreasing fits open rows longest document first: the first rows are not a sample of the data set.
  if (rows_left > 0 && o.pack != "concat") left_out += " (" + o.pack + " fills rows longest documents first, so the rows kept hold the longest)";
  if (!left_out.empty()) line += "; " + left_out;
  return line;
}

int run_import(ImportOptions& o) {
  std::optional<LengthFormat> format;
  if (!o.format.empty()) {
    format = parse_length_format(o.format);
    if (!format) return report(bad_input("--format: unknown format \"" + o.format + "\" (expected txt, csv, jsonl or npy)"));
  } else {
    format = length_format_of_path(o.input);
    if (!format) {
      const bool json = o.input.size() > 5 && o.input.compare(o.input.size() - 5, 5, ".json") == 0;
      return report(bad_input(o.input + ": --format: cannot tell the format from the file's extension (.txt, .csv, .jsonl, .npy); give --format txt, csv, jsonl or npy" +
                              (json ? std::string(" (a .json workload needs no import: cpsim plan and compare read it)") : std::string())));
    }
  }
  if (auto ok = check_flags(o, *format); !ok) return report(ok.error());
  if (!o.out.empty()) {
    if (auto ok = check_output_path(o.out); !ok) return report(ok.error());
    if (auto ok = check_not_input(o.out, o.input); !ok) return report(ok.error());
  }

  LengthReadOptions read;
  read.format = *format;
  read.column = o.column;
  read.field = o.field;
  auto lengths = read_doc_lengths(o.input, read);
  if (!lengths) return report(lengths.error());

  Result<PackedRows> packed = Error{};
  if (!o.packing) {
    packed = pack_as_given(*lengths, o.multiple_of, o.input);
  } else {
    PackSpec spec;
    spec.seq_len = o.seq_len;
    spec.strategy = *parse_pack_strategy(o.pack);
    spec.split_long = o.split_long;
    spec.drop_last = o.drop_last;
    spec.multiple_of = o.multiple_of;
    const std::int64_t most = rows_allowed(o);
    spec.max_rows = o.rows > 0 ? o.rows : most;
    packed = pack_documents(*lengths, spec, o.input);
    if (packed && o.rows == 0 && packed->stats.rows_needed > most) {
      const std::string all = std::to_string(packed->stats.rows_needed);
      return report(bad_input(
          o.input + ": --rows: the documents fill " + all + " rows of " + std::to_string(o.seq_len) + " tokens, more than the " + std::to_string(most) +
          (o.batch_size > 0 ? std::string(" rows cpsim writes") : std::string(" one workload holds (2^24 tokens)")) + "; keep the first with --rows " +
          std::to_string(most) + (o.batch_size > 0 ? std::string() : ", or write them all as BATCHES.jsonl with --batch-size B --out FILE.jsonl")));
    }
  }
  if (!packed) return report(packed.error());
  lengths->clear();
  lengths->shrink_to_fit();

  const std::string description = "imported by: " + import_command(o, *format);
  std::string text;
  std::int64_t lines = 0;
  if (o.batch_size > 0) {
    for (std::int64_t first = 0; first < packed->rows(); first += o.batch_size, ++lines) {
      const Workload w = workload_of(o, *packed, first, o.batch_size, description);
      if (auto ok = validate_workload(w, "imported workload"); !ok) return report(ok.error());
      text += json_text(workload_to_json(w)) + "\n";
      if (static_cast<std::int64_t>(text.size()) > kMaxInputBytes) {  // what `cpsim batch` could not read back
        return report(bad_input("--batch-size: the rows make more than the " + std::to_string(kMaxInputBytes >> 20) + " MiB of BATCHES.jsonl cpsim reads (" +
                                std::to_string(lines) + " workloads fit); use --rows to keep fewer"));
      }
    }
  } else {
    const Workload w = workload_of(o, *packed, 0, packed->rows(), description);
    if (auto ok = validate_workload(w, "imported workload"); !ok) return report(ok.error());
    text = dump_members_per_line(workload_to_json(w));
  }

  if (o.out.empty()) {
    std::cout << text;
    std::cerr << summary(o, *packed, "on standard output") << "\n";
    return 0;
  }
  if (auto ok = write_file_atomically(o.out, text); !ok) return report(ok.error());
  const std::string where =
      o.batch_size > 0 ? "in " + o.out + " (" + with_commas(lines) + " workload(s) of up to " + std::to_string(o.batch_size) + (o.batch_size == 1 ? " row)" : " rows)") : "in " + o.out;
  std::cerr << summary(o, *packed, where) << "\n";
  const std::int64_t w = suggested_world_size(packed->seq_len);
  if (o.batch_size > 0) {
    std::cerr << "next: cpsim batch " << o.out << " -w " << w << " -o " << stem(o.out) << "-plans\n";
  } else {
    std::cerr << "next: cpsim compare " << o.out << " -w " << w << "\n";
  }
  return 0;
}

}  // namespace

Command add_import_command(CLI::App& root) {
  auto o = std::make_shared<ImportOptions>();
  CLI::App* sub = root.add_subcommand("import", "Make a workload (or BATCHES.jsonl) from document lengths in a text, CSV, JSONL or .npy file");
  sub->footer("Examples:\n  cpsim import lengths.txt --seq-len 131072 --rows 8 -o my-workload.json\n"
              "  cpsim import lengths.jsonl --field num_tokens --seq-len 32768 --pack best_fit --split-long --batch-size 8 -o b.jsonl");
  sub->add_option("lengths", o->input, "LENGTHS_FILE: .txt (one a line), .csv (--column), .jsonl (numbers, or --field) or .npy (1-D integers)")
      ->required()
      ->check(non_empty_path());
  sub->add_option("--format", o->format, "txt, csv, jsonl or npy (default: from the extension)");
  sub->add_option("--column", o->column, "csv: the header name of the column of lengths");
  sub->add_option("--field", o->field, "jsonl: the member holding a length, or an array whose size is the length (e.g. input_ids)");
  o->seq_len_flag =
      sub->add_option("--seq-len", o->seq_len, "Pack into rows of this many tokens (default: the documents as given, as one row)")->check(decimal());
  o->packing_flags = {
      sub->add_option("--pack", o->pack,
                      "concat (file order, cut at row ends, as Megatron-LM and torchtitan), ffd (first-fit decreasing) or "
                      "best_fit (best-fit decreasing); ffd and best_fit cut no document")
          ->capture_default_str(),
      sub->add_option("--pad", o->pad, "The rest of a row that is not full: document (a padding document of its own)")->capture_default_str(),
      sub->add_flag("--split-long", o->split_long, "ffd, best_fit: cut a document longer than --seq-len into --seq-len pieces instead of refusing it"),
      sub->add_flag("--drop-last", o->drop_last, "Leave out the last row when it is not full (default: pad it)"),
      o->rows_flag = sub->add_option("--rows", o->rows, "Keep the first N rows")->check(decimal()),
      o->batch_size_flag =
          sub->add_option("--batch-size", o->batch_size, "Write BATCHES.jsonl (for cpsim batch): this many rows a workload line")->check(decimal()),
  };
  sub->add_option("--multiple-of", o->multiple_of, "Pad each document up to a multiple (2W for per_document_head_tail, as Transformer Engine's THD)")
      ->capture_default_str()
      ->check(decimal());
  add_workload_flags(sub, o->workload);
  sub->add_option("--out,-o", o->out, "Output file (default: standard output)")->check(non_empty_path());
  return {sub, [o] { return run_import(*o); }};
}

}  // namespace cpsim::cli
