// `cpsim execute`: run a plan (CPU threads, MPI processes under mpirun, or CUDA), verify the output (and with
// --backward the gradients) against the reference, and print measured against predicted per rank; before a CPU run,
// its estimated run time, and on a terminal its progress. Exit 3 when a numeric check fails, 4 when a rank fails.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "backend/executor.h"
#include "backend/verify.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "cli/workload_text.h"
#include "core/json_fields.h"
#include "core/text_format.h"
#include "core/workload_json.h"
#include "sim/cost_model.h"
#include "sim/hardware.h"

namespace cpsim::cli {
namespace {

struct ExecuteCliOptions {
  std::string plan;
  std::string device = "cpu";
  std::string out;
  std::string rotate;
  ExecuteOptions exec;
  std::int64_t q_heads = 0, kv_heads = 0, head_dim = 0;
  bool progress = false;
  bool estimate_only = false;
};

// The plan, or what the file is instead when it is a workload or a measurement (the usual mix-ups), with the command
// that makes a plan of it.
Result<Plan> load_plan_explained(const std::string& path) {
  auto plan = load_plan(path);
  if (plan) return plan;
  if (load_workload(path)) {
    return bad_input(path + " is a workload, not a plan: make one with cpsim plan " + path + " -w W -b BALANCER -o plan.json");
  }
  if (auto m = load_measurement(path)) {
    return bad_input(path + " is a measurement (what cpsim execute writes), not a plan: execute the plan it came from, " +
                     describe_value(Json(m->plan_source)));
  }
  return plan.error();
}

std::int64_t cores_here() { return std::max(1u, std::thread::hardware_concurrency()); }

// The estimate printed before a CPU run (and alone with --estimate): the ranks' attention at the run's shape on the
// shipped cpu-threads profile, whose kernel constants were fitted to this executor (bench/cpu_calibration.py), the
// ranks sharing the machine's cores, then the fp64 reference on all of them (backend/verify.h).
struct RunEstimate {
  double ranks_s = 0;
  double reference_s = 0;
  double total_s() const { return ranks_s + reference_s; }
};

// More threads than cores share them: a pass takes at least its slowest rank and at least all ranks' work over the
// cores. Ring hops hand K/V on step by step, so there each step is bounded so; after an all-gather (or the sparse
// exchange) the ranks run free, and the whole pass is.
double pass_seconds(const Plan& plan, const CostModel& model, bool backward, bool stepwise, double cores) {
  const std::int64_t w = plan.world_size;
  std::vector<double> rank_us(static_cast<std::size_t>(w), 0);
  double stepped_us = 0;
  for (std::int64_t i = 0; i < w; ++i) {
    double sum = 0, slowest = 0;
    for (std::int64_t r = 0; r < w; ++r) {
      const TileCounts& t = plan.work.step_tiles(r, i);
      const RowStats& rows = plan.work.step_rows(r, i);
      const double us = model.kernel_us({t.full, t.partial, rows.active_rows, rows.max_row_tiles, 0, 0}, backward);
      rank_us[static_cast<std::size_t>(r)] += us;
      sum += us;
      slowest = std::max(slowest, us);
    }
    stepped_us += std::max(slowest, sum / cores);
  }
  double total_us = 0;
  for (const double us : rank_us) total_us += us;
  const double free_us = std::max(*std::max_element(rank_us.begin(), rank_us.end()), total_us / cores);
  return (stepwise ? stepped_us : free_us) * 1e-6;
}

// `cores`: those the ranks share (all the job's machines'); the reference runs on this machine's.
Result<RunEstimate> estimate_run(const Plan& plan, const RankOptions& ro, std::int64_t cores) {
  CPSIM_ASSIGN_OR_RETURN(const HardwareProfile cpu, find_hardware_profile("cpu-threads"));
  const KernelSpec* kernel = cpu.kernel("cpu");
  if (kernel == nullptr) return bad_input(cpu.source + ": kernels: no \"cpu\" kernel, which the run-time estimate reads (it has " + cpu.kernel_names() + ")");
  ModelShape shape;
  shape.q_heads = ro.shape.q_heads;
  shape.kv_heads = ro.shape.kv_heads;
  shape.head_dim = ro.shape.head_dim;
  shape.dtype = "fp32";
  const CostModel model(cpu, shape, plan.block_size, *kernel);
  const bool stepwise = ro.exchange() == KvExchange::kRing;
  RunEstimate e;
  e.ranks_s = pass_seconds(plan, model, false, stepwise, static_cast<double>(cores));
  if (ro.backward) e.ranks_s += pass_seconds(plan, model, true, stepwise, static_cast<double>(cores));
  e.reference_s = reference_seconds(plan, ro, cores_here());
  return e;
}

std::string about(double s) {
  if (s < 0.1) return "under 0.1 s";
  if (s < 10) return "about " + format_number(s, "%.1f") + " s";
  if (s < 90) return "about " + format_number(s, "%.0f") + " s";
  if (s < 5400) return "about " + format_number(s / 60, "%.0f") + " min";
  return "about " + format_number(s / 3600, "%.1f") + " h";
}

// Beyond this a newcomer wonders whether it hangs: say how long, and how to check the same plan quicker.
constexpr double kLongRunS = 10;
// The shape the note suggests: the layout, steps and verification are the same at any shape, and this one keeps
// GQA (2 q heads per kv head) and a head dim the kernels vectorise; 64x less work than 32 q heads at head dim 128.
constexpr std::int64_t kSmallQHeads = 4, kSmallKvHeads = 2, kSmallHeadDim = 32;

// The estimate line, and beyond kLongRunS the note with the smaller shape's estimate.
void print_estimate(const RunEstimate& e, const Plan& plan, const std::string& plan_path, const ExecuteOptions& exec, const RankOptions& ro,
                    const Placement& where) {
  const std::int64_t cores = cores_here() * std::max<std::int64_t>(1, where.machines);
  const std::string machine = where.machines > 1 ? std::to_string(where.machines) + " machines (" + std::to_string(cores_here()) + " cores each, as this one)"
                                                 : "this machine (" + std::to_string(cores_here()) + " cores)";
  std::cout << "estimated run time: " << about(e.total_s()) << " on " << machine << ": " << plan.world_size << " ranks x " << ro.shape.q_heads
            << " q heads x head dim " << ro.shape.head_dim << (ro.backward ? ", forward and backward" : "") << "; the fp64 reference is "
            << format_number(100 * e.reference_s / std::max(e.total_s(), 1e-12), "%.0f") << "% of it\n";
  if (e.total_s() > kLongRunS) {
    ExecuteOptions small = exec;
    small.q_heads = kSmallQHeads;
    small.kv_heads = std::min(kSmallKvHeads, ro.shape.kv_heads);
    small.head_dim = kSmallHeadDim;
    auto small_ro = rank_options(plan, plan_path, small, true);
    auto small_e = small_ro ? estimate_run(plan, *small_ro, cores) : Result<RunEstimate>(small_ro.error());
    if (small_e && small_e->total_s() < 0.5 * e.total_s()) {
      std::cout << "that is long for a check: --q-heads " << kSmallQHeads << " --kv-heads " << *small.kv_heads << " --head-dim " << kSmallHeadDim
                << " runs the same plan (layout, steps, verification) in " << about(small_e->total_s()) << "\n";
    } else {
      std::cout << "that is long for a check, and the shape is already small: a plan of fewer tokens or rows runs quicker\n";
    }
  }
  std::cout << std::flush;  // before the run, which may take that long
}

// The progress line on stderr, drawn by its own thread from the run's counters: on a terminal one line redrawn in
// place at most 10 times a second and erased at the end; with --progress (for a parent process: the GUI reads
// "execute: N/M (rank, step) done") one line every half second until the check starts, then one saying so.
class ProgressLine {
 public:
  ProgressLine(const RunProgress& progress, bool tty, double estimate_s)
      : progress_(progress), tty_(tty), estimate_s_(estimate_s), start_(std::chrono::steady_clock::now()) {
    thread_ = std::thread([this] { loop(); });
  }
  ~ProgressLine() { stop(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Ends the line (erased on a terminal); before anything else is printed.
  void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (tty_ && drawn_) std::fprintf(stderr, "\r\x1b[K");
    if (!tty_ && !said_checking_ && progress_.rows_to_check.load() > 0) print_line();
    std::fflush(stderr);
  }

 private:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  void loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (progress_.steps_total.load() == 0) {
        // the executor has not said yet how many steps it counts
      } else if (tty_) {
        draw();
      } else if (!said_checking_) {
        print_line();
      }
      const int ms = progress_.steps_total.load() == 0 ? 10 : tty_ ? 100 : 500;
      wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
    }
  }

  // The GUI's line: "execute: 12/64 (rank, step) done, 3.1 s", and once "...; checking against the reference...".
  void print_line() {
    const long long total = progress_.steps_total.load();
    const bool checking = progress_.rows_to_check.load() > 0;
    const long long done = checking ? total : progress_.steps_done.load();
    const bool own = progress_.own_rank_only.load();  // MPI: rank 0 sees its own steps only
    std::fprintf(stderr, "execute: %s%lld/%lld %s done, %.1f s%s\n", own ? "rank 0: " : "", done, total, own ? "steps" : "(rank, step)", seconds(),
                 checking ? "; checking against the reference..." : "");
    std::fflush(stderr);
    said_checking_ = checking;
  }

  void draw() {
    const double s = seconds();
    std::string text = "execute: ";
    if (const std::int64_t rows = progress_.rows_to_check.load(); rows > 0) {
      text += "checking against the fp64 reference";
      if (rows > 1) text += ", row " + std::to_string(std::min(rows, progress_.rows_checked.load() + 1)) + "/" + std::to_string(rows);
    } else {
      text += std::string(progress_.own_rank_only.load() ? "rank 0: " : "") + std::to_string(progress_.steps_done.load()) + "/" +
              std::to_string(progress_.steps_total.load()) + (progress_.own_rank_only.load() ? " steps done" : " (rank, step) done");
    }
    text += ", " + format_number(s, "%.1f") + " s";
    if (estimate_s_ > 0) text += (s < estimate_s_ ? " of " : " (the estimate was ") + about(estimate_s_) + (s < estimate_s_ ? "" : ")");
    std::fprintf(stderr, "\r%s\x1b[K", text.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  const RunProgress& progress_;
  const bool tty_;
  const double estimate_s_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool drawn_ = false;
  bool said_checking_ = false;
  std::thread thread_;
};


// One pass's table: measured compute and communication per rank, and beside them the plan's predicted compute
// (`key`: forward_compute_us or backward_compute_us) with the error in percent when the two are comparable.
std::string rank_table(const Measurement& m, const std::vector<MeasuredStep>& steps, const std::string& key, bool comparable) {
  Table table({"rank", "compute ms", "comm ms", "predicted compute ms", "error"}, {true, false, false, false, false});
  for (std::int64_t r = 0; r < m.world_size; ++r) {
    const auto [compute, comm] = rank_totals(steps, r);
    std::string predicted = "-", error = "-";
    if (const auto p = predicted_rank_us(m.predicted, key, r)) {
      predicted = millis(*p);
      if (comparable && *p > 0) error = (compute >= *p ? "+" : "") + fixed(100.0 * (compute - *p) / *p, 1) + "%";
    }
    table.add_row({std::to_string(r), millis(compute), millis(comm), predicted, error});
  }
  return table.render();
}

void print_measurement(const Measurement& m, const Plan& plan) {
  std::cout << describe_workload(plan.workload, plan.workload_source) << "\n"
            << "executed " << strategy_text(m.strategy) << " on " << m.world_size << " ranks, shape " << m.q_heads << " q heads / "
            << m.kv_heads << " kv heads / head dim " << m.head_dim << ", on " << m.device << "\n";
  if (plan.strategy && plan.strategy->path == AttentionPath::kSparseGather && m.strategy.path != AttentionPath::kSparseGather) {
    std::cout << "(the plan's sparse_gather ran as " << path_name(m.strategy.path) << ": same result, but all K/V moved, so measured\n"
                 " communication is not that of the sparse exchange, which only --device cpu and MPI execute)\n";
  }
  std::cout << "\n";
  const bool has_prediction = predicted_rank_us(m.predicted, "forward_compute_us", 0).has_value();
  // A run on another kind of device than the prediction's profile is no test of the model: both, but no error.
  const Comparability c = comparable_with_prediction(m);
  std::cout << rank_table(m, m.steps, "forward_compute_us", c.comparable);
  if (has_prediction && !c.comparable) {
    std::cout << "(not compared: " << c.why_not << ". Fit a profile for this machine with `cpsim calibrate` and plan with it "
              << "to compare like with like)\n";
  }
  std::cout << "\nverification: max abs error " << m.max_abs_error << " (tolerance " << m.tolerance << "), max rel error "
            << m.max_rel_error << ": " << (m.verified ? "PASSED" : "FAILED") << "\n";
  if (!m.backward.ran) return;
  const MeasuredBackward& b = m.backward;
  std::cout << "\nbackward\n" << rank_table(m, b.steps, "backward_compute_us", c.comparable);
  if (has_prediction && !predicted_rank_us(m.predicted, "backward_compute_us", 0)) {
    std::cout << "(the plan has no backward prediction: make it with `cpsim plan --backward`)\n";
  }
  std::cout << "backward (dQ, dK, dV): max abs error " << b.max_abs_error << " (tolerance " << b.tolerance
            << "), max rel error " << b.max_rel_error << ": " << (b.verified ? "PASSED" : "FAILED") << "\n";
}

int run_execute(ExecuteCliOptions& o) {
  if (o.q_heads != 0) o.exec.q_heads = o.q_heads;
  if (o.kv_heads != 0) o.exec.kv_heads = o.kv_heads;
  if (o.head_dim != 0) o.exec.head_dim = o.head_dim;
  if (!o.rotate.empty()) {
    o.exec.rotate = parse_rotate(o.rotate);
    if (!o.exec.rotate) return report(bad_input("--rotate: unknown rotate method \"" + o.rotate + "\" (expected allgather or alltoall)"));
  }
  if (o.exec.timeout_s <= 0) return report(bad_input("--timeout-s: must be positive, got " + std::to_string(o.exec.timeout_s)));
  if (auto ok = check_device_options(o.device, o.exec); !ok) return report(ok.error());
  if (o.estimate_only && o.device != "cpu") {
    return report(bad_input("--estimate: estimates the CPU executor's run time (--device cpu); a GPU run takes seconds, its check on the CPU too"));
  }
  auto faults = faults_from_environment();
  if (!faults) return report(faults.error());
  auto executor = choose_executor(o.device, *faults);
  if (!executor) return report(executor.error());
  auto plan = load_plan_explained(o.plan);
  if (!plan) return report(plan.error());
  if (!o.out.empty()) {
    if (auto ok = check_output_path(o.out); !ok) return report(ok.error());
  }
  const Placement where = (*executor)->placement();
  double estimate_s = 0;
  if (o.device == "cpu") {  // GPU runs take seconds (their check samples positions), and cpu-threads says nothing of them
    auto ro = rank_options(*plan, o.plan, o.exec, true);
    if (!ro) return report(ro.error());
    const auto e = estimate_run(*plan, *ro, cores_here() * std::max<std::int64_t>(1, where.machines));
    if (!e && o.estimate_only) return report(e.error());
    if (e) estimate_s = e->total_s();
    if (e && where.reports) print_estimate(*e, *plan, o.plan, o.exec, *ro, where);
    if (!e && where.reports) std::cout << "(no run-time estimate: " << printable(e.error().message) << ")\n" << std::flush;
    if (o.estimate_only) return 0;
  }
  // Progress where someone watches: a terminal, or a parent process that asked (--progress); MPI rank 0 only.
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  RunProgress progress;
  std::unique_ptr<ProgressLine> line;
  if ((tty || o.progress) && where.reports) {
    o.exec.progress = &progress;
    line = std::make_unique<ProgressLine>(progress, tty, estimate_s);
  }
  auto outcome = (*executor)->execute(*plan, o.plan, o.exec);
  if (line) line->stop();
  if (!outcome) return report(outcome.error());
  if (!*outcome) return 0;  // another MPI rank reports
  const Measurement* measured = &**outcome;
  if (!o.out.empty()) {
    if (auto ok = write_file_atomically(o.out, json_text(measurement_to_json(*measured), 1) + "\n"); !ok) return report(ok.error());
  }
  print_measurement(*measured, *plan);
  if (!o.out.empty()) std::cout << "measurement written to " << o.out << "\n";
  if (!measured->verified) {
    return report({ErrorCode::kVerificationFailed, o.plan + ": verification failed: max abs error " +
                                                       std::to_string(measured->max_abs_error) + " > tolerance " +
                                                       std::to_string(measured->tolerance)});
  }
  if (measured->backward.ran && !measured->backward.verified) {
    return report({ErrorCode::kVerificationFailed, o.plan + ": backward verification failed: dQ/dK/dV max abs error " +
                                                       std::to_string(measured->backward.max_abs_error) + " > tolerance " +
                                                       std::to_string(measured->backward.tolerance)});
  }
  return 0;
}

}  // namespace

Command add_execute_command(CLI::App& root) {
  auto o = std::make_shared<ExecuteCliOptions>();
  CLI::App* sub = root.add_subcommand("execute", "Run a plan for real, verify its output and measure it");
  sub->footer("Examples:\n  cpsim plan w.json -w 4 -b ptrr -r alltoall -o plan.json\n  cpsim execute plan.json --estimate\n"
              "  cpsim execute plan.json --q-heads 4 --kv-heads 2 --head-dim 32 --out measured.json");
  sub->add_option("plan", o->plan, "PLAN.json (from cpsim plan --out)")->required()->check(non_empty_path());
  sub->add_option("--device", o->device,
                  "cpu (threads, or processes under mpirun) or cuda (every rank in turn on one GPU, or under mpirun one GPU "
                  "per process with NCCL)")
      ->capture_default_str();
  sub->add_option("--out,-o", o->out, "Write MEASURED.json")->check(non_empty_path());
  sub->add_option("--rotate,-r", o->rotate, "Override the plan's rotate method: allgather or alltoall");
  sub->add_option("--q-heads", o->q_heads, "Run with this many query heads instead of the plan's")->check(decimal());
  sub->add_option("--kv-heads", o->kv_heads, "Run with this many key/value heads instead of the plan's")->check(decimal());
  sub->add_option("--head-dim", o->head_dim, "Run with this head dimension instead of the plan's")->check(decimal());
  sub->add_option("--seed", o->exec.seed, "Seed of the random Q/K/V")->capture_default_str()->check(decimal(0));
  sub->add_flag("--backward", o->exec.backward, "Also run the backward pass and check dQ, dK, dV (cpu and MPI)");
  sub->add_option("--timeout-s", o->exec.timeout_s, "Longest wait for another rank before failing (up to a day)")->capture_default_str()->check(finite(1e-3, 86400));
  sub->add_flag("--progress", o->progress, "Print progress lines on stderr even when it is not a terminal");
  sub->add_flag("--estimate", o->estimate_only, "Print the estimated run time on this machine and exit without running (--device cpu)");
  return {sub, [o] { return run_execute(*o); }};
}

}  // namespace cpsim::cli
