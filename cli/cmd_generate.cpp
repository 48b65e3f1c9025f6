// `cpsim generate`: writes a synthetic workload file from a document-length distribution (or a weighted mixture
// of them) and a seed.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/limits.h"
#include "cli/flags.h"
#include "cli/workload_flags.h"
#include "core/generator.h"
#include "core/workload_json.h"

namespace cpsim::cli {

namespace {

struct GenerateOptions {
  GeneratorSpec spec;
  std::string distribution = "lognormal";
  std::string mix;  // --dist mixture: the components
  WorkloadFlags workload;
  std::string out;
  std::int64_t batches = 0;  // > 0: a JSONL file of this many workloads, seeds seed, seed + 1, ...
};

// BATCHES.jsonl for `cpsim batch`: one compact workload object per line.
int run_generate_batches(GenerateOptions& o) {
  std::string text;
  const std::uint64_t first_seed = o.spec.seed;
  for (std::int64_t i = 0; i < o.batches; ++i) {
    o.spec.seed = first_seed + static_cast<std::uint64_t>(i);
    auto workload = generate_workload(o.spec);
    if (!workload) return report(workload.error());
    text += json_text(workload_to_json(*workload)) + "\n";
    if (static_cast<std::int64_t>(text.size()) > kMaxInputBytes) {  // what `cpsim batch` could not read back
      return report(bad_input("--batches: " + std::to_string(o.batches) + " workloads make more than the " +
                              std::to_string(kMaxInputBytes >> 20) + " MiB cpsim reads (" + std::to_string(i + 1) + " fit)"));
    }
  }
  if (o.out.empty()) {
    std::cout << text;
    return 0;
  }
  if (auto ok = write_file_atomically(o.out, text); !ok) return report(ok.error());
  std::cerr << "wrote " << o.out << ": " << o.batches << " workloads, seeds " << first_seed << " to " << o.spec.seed << "\n";
  return 0;
}

int run_generate(GenerateOptions& o) {
  const auto dist = parse_length_distribution(o.distribution);
  if (!dist) {
    return report(bad_input("--dist: unknown distribution \"" + o.distribution + "\" (expected fixed, uniform, lognormal, pareto or mixture)"));
  }
  if (auto ok = resolve_workload_flags(o.workload); !ok) return report(ok.error());
  o.spec.distribution = *dist;
  o.spec.mask = o.workload.mask;
  o.spec.model = o.workload.model;
  if (*dist == LengthDistribution::kMixture && !o.mix.empty()) {
    auto mixture = parse_mixture(o.mix, o.spec);
    if (!mixture) return report(mixture.error());
    o.spec.mixture = std::move(*mixture);
  } else if (!o.mix.empty()) {
    return report(bad_input("--mix: applies to --dist mixture only (--dist is " + o.distribution + ")"));
  }
  if (o.batches < 0 || o.batches > kMaxBatches) {
    return report(bad_input("--batches: must be from 1 to " + std::to_string(kMaxBatches) + ", got " + std::to_string(o.batches)));
  }
  if (o.batches > 0) return run_generate_batches(o);
  auto workload = generate_workload(o.spec);
  if (!workload) return report(workload.error());
  if (o.out.empty()) {
    std::cout << dump_members_per_line(workload_to_json(*workload));
    return 0;
  }
  if (auto ok = save_workload(*workload, o.out); !ok) return report(ok.error());
  std::size_t docs = 0;
  for (const auto& row : workload->documents) docs += row.size();
  std::cerr << "wrote " << o.out << ": " << workload->rows() << " row(s) x " << workload->seq_len << " tokens, " << docs
            << " documents\n";
  return 0;
}

}  // namespace

Command add_generate_command(CLI::App& root) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* sub = root.add_subcommand("generate", "Write a workload file from a document-length distribution");
  sub->footer("Examples:\n  cpsim generate --seq-len 131072 --dist lognormal --mean 4096 --sigma 1.2 --multiple-of 16 --seed 7 --out w.json\n"
              "  cpsim generate --seq-len 131072 --dist mixture --mix \"lognormal:mean=4096,sigma=1.2:0.9;fixed:length=65536:0.1\" --out w.json");
  auto& s = o->spec;
  sub->add_option("--seq-len", s.seq_len, "Tokens per batch row")->required()->check(decimal());
  sub->add_option("--rows", s.rows, "Batch rows")->capture_default_str()->check(decimal());
  sub->add_option("--dist", o->distribution, "Document lengths: fixed, uniform, lognormal, pareto or mixture")->capture_default_str();
  sub->add_option("--mix", o->mix,
                  "mixture: NAME:KEY=VALUE,...:WEIGHT;... e.g. \"lognormal:mean=4096,sigma=1.2:0.9;fixed:length=65536:0.1\" "
                  "(keys: length, mean, sigma, alpha, min_len, max_len; a key left out takes its flag's value)");
  sub->add_option("--length", s.length, "fixed: the document length")->check(decimal());
  sub->add_option("--min-len", s.min_len, "Shortest document (uniform: lower bound; pareto: scale)")->capture_default_str()->check(decimal());
  sub->add_option("--max-len", s.max_len, "Longest document (uniform: upper bound; 0 = seq_len)")->capture_default_str()->check(decimal());
  sub->add_option("--mean", s.mean, "lognormal: mean length in tokens")->check(finite(0, 1e12));
  sub->add_option("--sigma", s.sigma, "lognormal: standard deviation of log(length)")->capture_default_str()->check(finite(0, 100));
  sub->add_option("--alpha", s.alpha, "pareto: shape (smaller is heavier-tailed)")->capture_default_str()->check(finite(0, 1e6));
  sub->add_option("--multiple-of", s.multiple_of, "Round lengths to a multiple (2W for per_document_head_tail)")->capture_default_str()->check(decimal());
  sub->add_option("--seed", s.seed, "Random seed")->capture_default_str()->check(decimal(0));
  add_workload_flags(sub, o->workload);
  sub->add_option("--out", o->out, "Output file (default: standard output)")->check(non_empty_path());
  sub->add_option("--batches", o->batches, "Write this many workloads (seeds seed, seed+1, ...) as JSONL for `cpsim batch`")->check(decimal());
  return {sub, [o] { return run_generate(*o); }};
}

}  // namespace cpsim::cli
