// `cpsim execute`: run a plan (CPU threads, MPI processes under mpirun, or CUDA), verify the output (and with
// --backward the gradients) against the reference, and print measured against predicted per rank. Exit 3
// when a numeric check fails, 4 when a rank fails or times out.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "backend/executor.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/table.h"
#include "cli/workload_text.h"
#include "core/json_fields.h"

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
  auto faults = faults_from_environment();
  if (!faults) return report(faults.error());
  auto executor = choose_executor(o.device, *faults);
  if (!executor) return report(executor.error());
  auto plan = load_plan(o.plan);
  if (!plan) return report(plan.error());
  if (!o.out.empty()) {
    if (auto ok = check_output_path(o.out); !ok) return report(ok.error());
  }
  if (o.progress || ::isatty(STDERR_FILENO)) {
    // On a terminal one line rewritten in place; for a parent process (--progress) one line each time.
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    o.exec.progress = [start = std::chrono::steady_clock::now(), tty](std::int64_t done, std::int64_t total) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const bool last = done == total;
      std::fprintf(stderr, "%sexecute: %lld/%lld (rank, step) done, %.1f s%s", tty ? "\r" : "", static_cast<long long>(done),
                   static_cast<long long>(total), s, last ? "; checking against the reference...\n" : (tty ? "" : "\n"));
      std::fflush(stderr);
    };
  }
  auto outcome = (*executor)->execute(*plan, o.plan, o.exec);
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
  return {sub, [o] { return run_execute(*o); }};
}

}  // namespace cpsim::cli
