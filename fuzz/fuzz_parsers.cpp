// libFuzzer targets for every parser of user files. One source, one target per parser, chosen at compile
// time (CPSIM_FUZZ_TARGET): workload files, PLAN.json, hardware profiles, batch lines, strategy texts
// (`--strategy`, and the JSON form through PLAN.json), published-measurement files (data/validation) and the
// document-length files `cpsim import` reads (text, CSV, JSONL, .npy: the first byte picks the format and chunk size). A parser may reject
// its input (that is a bad-input error); it must never crash, hang, leak or trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/plan.h"
#include "core/strategy.h"
#include "core/workload_json.h"
#include "dataset/batch_file.h"
#include "dataset/doc_lengths.h"
#include "sim/hardware.h"
#include "sim/validation.h"

namespace {

std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cpsim;
  const std::string_view text = as_text(data, size);
#if CPSIM_FUZZ_TARGET == 1
  if (auto doc = parse_json_text(text, "fuzz.json")) (void)workload_from_json(*doc, "fuzz.json");
#elif CPSIM_FUZZ_TARGET == 2
  if (auto doc = parse_json_text(text, "fuzz.json")) (void)plan_from_json(*doc, "fuzz.json");
#elif CPSIM_FUZZ_TARGET == 3
  if (auto doc = parse_json_text(text, "fuzz.json")) (void)hardware_profile_from_json(*doc, "fuzz.json");
#elif CPSIM_FUZZ_TARGET == 4
  (void)parse_batch_line(text, "fuzz.jsonl:1");
#elif CPSIM_FUZZ_TARGET == 5
  if (auto s = parse_strategy_text(text, "--strategy")) {
    // Whatever parses prints back to text that parses to the same strategy.
    if (!(parse_strategy_text(strategy_text(*s), "--strategy").value() == *s)) __builtin_trap();
  }
#elif CPSIM_FUZZ_TARGET == 6
  if (auto doc = parse_json_text(text, "fuzz.json")) (void)validation_points_from_json(*doc, "fuzz.json");
#elif CPSIM_FUZZ_TARGET == 7
  if (!text.empty()) {
    LengthReadOptions o;
    o.format = static_cast<LengthFormat>(static_cast<unsigned char>(text[0]) % 4);
    o.column = "len";
    o.field = "len";
    const std::size_t chunk = 1 + static_cast<unsigned char>(text[0]) / 4;  // chunk boundaries fall everywhere
    (void)parse_doc_lengths(text.substr(1), "fuzz.txt", o, chunk);
  }
#else
#error "CPSIM_FUZZ_TARGET must be 1 (workload), 2 (plan), 3 (profile), 4 (batch line), 5 (strategy text), 6 (validation file) or 7 (lengths)"
#endif
  return 0;
}
