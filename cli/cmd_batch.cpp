// `cpsim batch`: plans every workload of a JSONL file on all cores with a progress bar, resumes an
// interrupted run, and prints how the chosen plans compare with every fixed strategy.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <future>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "core/plan.h"
#include "dataset/batch_report.h"
#include "dataset/batch_run.h"

namespace cpsim::cli {
namespace {

struct BatchOptions {
  std::string batches;
  std::int64_t world_size = 0;
  std::string hardware = "h100-sxm-8x";
  std::int64_t block_size = 128;
  bool backward = false;
  std::string out_dir;
  int jobs = 0;
  std::string balancers = "all";
  std::string kernel;
  std::string runtime = "any";
  bool no_ulysses = false;
  bool no_plans = false;
  int top = 12;
};

std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) { g_interrupted = true; }

std::string eta(double seconds) {
  if (!(seconds < 1e7)) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  return s >= 60 ? std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s" : std::to_string(s) + "s";
}

void draw_progress(const BatchProgress& p, std::int64_t total, double elapsed_s) {
  const std::int64_t done = p.done, resumed = p.resumed;
  const double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0;
  const std::int64_t left = total - done - resumed;
  std::cerr << "\r" << bar(static_cast<double>(done + resumed), static_cast<double>(total), 24) << std::string(1, ' ')
            << done + resumed << "/" << total << " lines  " << fixed(rate, 1) << "/s  ETA " << eta(rate > 0 ? static_cast<double>(left) / rate : 1e9)
            << "   " << std::flush;
}

void print_report(const BatchReport& r, const BatchOptions& o) {
  std::cout << "\nchosen plans: mean " << millis(r.chosen_mean_us) << " ms, p95 " << millis(r.chosen_p95_us) << " ms per step over "
            << r.batches << " batches\n";
  for (const auto& s : r.strategies) {
    if (s.label == r.best_pytorch) {
      std::cout << "best fixed PyTorch-as-shipped strategy: " << s.label << " (mean " << millis(s.mean_us) << " ms); the chosen plans are "
                << fixed(s.speedup, 2) << "x faster in total\n";
    }
  }
  for (const auto& s : r.strategies) {
    if (s.label == r.best_runnable && r.best_runnable != r.best_pytorch) {
      std::cout << "best fixed strategy PyTorch can run: " << s.label << " (mean " << millis(s.mean_us) << " ms); the chosen plans are "
                << fixed(s.speedup, 2) << "x faster in total\n";
    }
  }
  std::cout << "\n";
  Table table({"fixed strategy", "runs on", "batches", "mean ms", "p95 ms", "chosen speed-up"}, {true, true, false, false, false, false});
  int shown = 0;
  for (const auto& s : r.strategies) {
    if (o.top > 0 && shown++ == o.top) break;
    table.add_row({s.label, s.runtime, std::to_string(s.batches), millis(s.mean_us), millis(s.p95_us), fixed(s.speedup, 2) + "x"});
  }
  std::cout << table.render();
  if (o.top > 0 && static_cast<int>(r.strategies.size()) > o.top) {
    std::cout << "... and " << r.strategies.size() - static_cast<std::size_t>(o.top) << " more in " << o.out_dir << "/report.json\n";
  }
}

int run_batch_command(const BatchOptions& o) {
  auto lines = read_batch_file(o.batches);
  if (!lines) return report(lines.error());
  auto hw = find_hardware_profile(o.hardware);
  if (!hw) return report(hw.error());
  auto balancers = parse_balancer_list(o.balancers);
  if (!balancers) return report(balancers.error());
  if (o.world_size <= 0 || o.world_size > kMaxWorldSize) {
    return report(bad_input("--world-size: must be from 1 to " + std::to_string(kMaxWorldSize) + " ranks, got " + std::to_string(o.world_size)));
  }
  if (o.jobs < 0 || o.jobs > kMaxJobs) {
    return report(bad_input("--jobs: must be from 0 (all cores) to " + std::to_string(kMaxJobs) + ", got " + std::to_string(o.jobs)));
  }
  // Every line's block size and W are checked before anything runs, as its fields are.
  for (const BatchLine& line : *lines) {
    const std::string where = o.batches + ":" + std::to_string(line.line);
    if (auto ok = check_block_size(o.block_size, line.workload, where); !ok) return report(ok.error());
    if (auto ok = check_world_size(o.world_size, line.workload, where); !ok) return report(ok.error());
  }
  BatchSettings s;
  s.world_size = o.world_size;
  s.profile = *hw;
  s.block_size = o.block_size;
  s.backward = o.backward;
  s.scope.balancers = *balancers;
  s.scope.ulysses = !o.no_ulysses;
  s.scope.kernel = o.kernel;
  auto runtime = parse_runtime_filter(o.runtime);
  if (!runtime) return report(runtime.error());
  s.scope.runtime = *runtime;
  if (auto ok = check_kernel_name(*hw, o.kernel); !ok) return report(ok.error());
  s.write_plans = !o.no_plans;
  s.jobs = o.jobs > 0 ? o.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // Ctrl-C lets the lines in progress finish (the run resumes later); the other signals still remove temporaries.
  const auto previous = std::signal(SIGINT, on_interrupt);
  BatchProgress progress;
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  auto job = std::async(std::launch::async, [&] {
    return run_batch(*lines, o.batches, s, o.out_dir, progress, [] { return g_interrupted.load(); });
  });
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto total = static_cast<std::int64_t>(lines->size());
  while (job.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
    if (tty) draw_progress(progress, total, seconds());
  }
  if (tty) {
    draw_progress(progress, total, seconds());
    std::cerr << "\n";
  }
  auto results = job.get();
  std::signal(SIGINT, previous);
  if (!results) {
    if (g_interrupted) {
      std::cerr << "cpsim: " << results.error().message << "\n";
      return 130;
    }
    return report(results.error());
  }
  const double elapsed = seconds();
  std::cout << "planned " << progress.done << " lines (" << progress.resumed << " resumed from " << o.out_dir << ") in "
            << fixed(elapsed, 2) << " s with " << s.jobs << " jobs: " << fixed(static_cast<double>(progress.done) / std::max(elapsed, 1e-9), 1)
            << " lines/s\nwrote " << o.out_dir << "/summary.csv, " << o.out_dir << "/report.json"
            << (s.write_plans ? ", " + o.out_dir + "/plans/" : std::string()) << "\n";
  print_report(aggregate(*results), o);
  return 0;
}

}  // namespace

Command add_batch_command(CLI::App& root) {
  auto o = std::make_shared<BatchOptions>();
  CLI::App* sub = root.add_subcommand("batch", "Plan every workload of a JSONL file (one workload per line) on all cores");
  sub->footer("Examples:\n  cpsim generate --seq-len 131072 --dist lognormal --mean 4096 --sigma 1.2 --multiple-of 32 --batches 200 --out b.jsonl\n"
              "  cpsim batch b.jsonl -w 16 --hardware h100-sxm-ib --runtime pytorch --out-dir plans-w16");
  sub->add_option("batches", o->batches, "BATCHES.jsonl: one workload JSON object per line")->required()->check(non_empty_path());
  sub->add_option("--world-size,-w", o->world_size, "CP degree W (ranks)")->required()->check(decimal());
  sub->add_option("--out-dir,-o", o->out_dir, "Folder for results/, plans/, summary.csv and report.json")->required()->check(non_empty_path());
  sub->add_option("--hardware", o->hardware, "Profile name in data/hardware/ or a file path")->capture_default_str();
  sub->add_option("--block-size", o->block_size, "Tile size T")->capture_default_str()->check(decimal());
  sub->add_flag("--backward", o->backward, "Choose by forward + backward time");
  sub->add_option("--jobs,-j", o->jobs, "Worker threads (0: all cores)")->capture_default_str()->check(decimal(std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
  sub->add_option("--balancers", o->balancers, "all, pytorch, or a comma-separated list")->capture_default_str();
  sub->add_option("--kernel,-k", o->kernel, "Only strategies on this attention kernel (default: every kernel each path can call)");
  sub->add_flag("--no-ulysses", o->no_ulysses, "Leave out pure Ulysses and the Ulysses x ring hybrids");
  sub->add_option("--runtime", o->runtime, "Choose only among what this runs: pytorch (plans PyTorch CP loads), cpsim or any")
      ->capture_default_str();
  sub->add_flag("--no-plans", o->no_plans, "Write the summary and report only, no PLAN.json per line");
  sub->add_option("--top", o->top, "Fixed strategies to print (0: all)")->capture_default_str()->check(decimal(0, std::numeric_limits<int>::max()));
  return {sub, [o] { return run_batch_command(*o); }};
}

}  // namespace cpsim::cli
