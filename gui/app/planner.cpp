// Snapshot computation and the generation counter that cancels stale jobs.
#include "gui/app/planner.h"

#include <QtConcurrent/QtConcurrent>
#include <chrono>
#include <new>

#include "sim/simulate.h"

namespace cpsim::gui {
namespace {

constexpr int kMaxMaskCells = 256;

Status fill_selection(Snapshot& snap, const Strategy& sel) {
  // With Ulysses the plan is the ring dimension: W / U ranks, each standing for one Ulysses group.
  CPSIM_ASSIGN_OR_RETURN(snap.plan, make_plan(snap.inputs.workload, snap.inputs.source, sel.balancer,
                                              sel.plan_world_size(snap.inputs.world_size), snap.inputs.block_size));
  CPSIM_ASSIGN_OR_RETURN(snap.simulation, simulate(snap.plan, sel, snap.profile, snap.inputs.backward));
  attach_simulation(snap.plan, snap.simulation, snap.profile);
  snap.selection = snap.simulation.strategy;
  snap.original = make_mask_raster(snap.plan, 0, kMaxMaskCells, false);
  snap.rearranged = make_mask_raster(snap.plan, 0, kMaxMaskCells, true);
  return Ok{};
}

}  // namespace

Result<std::shared_ptr<Snapshot>> plan_snapshot(const PlannerInputs& inputs, std::optional<Strategy> keep,
                                                const std::function<bool()>& cancelled) {
  const auto start = std::chrono::steady_clock::now();
  auto snap = std::make_shared<Snapshot>();
  snap->inputs = inputs;
  CPSIM_ASSIGN_OR_RETURN(snap->profile, find_hardware_profile(inputs.hardware));
  CPSIM_ASSIGN_OR_RETURN(snap->comparison, compare_strategies(inputs.workload, inputs.source, inputs.world_size, inputs.block_size,
                                                              snap->profile, inputs.backward, cancelled));
  if (snap->comparison.ranked.empty()) {
    // The first reason is the one every combination shares when W itself is the problem (S % W != 0).
    const auto& invalid = snap->comparison.invalid;
    return bad_input("no balancer and path can run this workload at W = " + std::to_string(inputs.world_size) +
                     (invalid.empty() ? std::string() : ": " + invalid.front().reason) +
                     nearest_world_sizes_text(inputs.workload, inputs.world_size, snap->profile.max_gpus()));
  }
  Strategy sel = snap->comparison.ranked.front().strategy;
  if (keep) {
    for (const Candidate& c : snap->comparison.ranked) {
      if (c.strategy.with_stages(0) == keep->with_stages(0)) sel = c.strategy;
    }
  }
  if (cancelled && cancelled()) return bad_input("cancelled");
  if (auto ok = fill_selection(*snap, sel); !ok) return ok.error();
  snap->elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return snap;
}

Planner::Planner(QObject* parent) : QObject(parent) {}

void Planner::launch(std::function<Result<std::shared_ptr<Snapshot>>(const std::function<bool()>&)> job) {
  const std::uint64_t mine = ++generation_;
  auto* watcher = new QFutureWatcher<JobResult>(this);
  ++running_;
  connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, mine] {
    --running_;
    const JobResult result = watcher->result();
    watcher->deleteLater();
    if (mine != generation_.load()) return;  // stale: a newer request is on its way
    if (result.snapshot) {
      emit ready(result.snapshot);
    } else {
      emit failed(QString::fromStdString(result.error));
    }
  });
  watcher->setFuture(QtConcurrent::run([this, mine, job]() -> JobResult {
    // Nothing escapes a background job: out of memory, or any other exception, is shown as its error.
    try {
      auto r = job([this, mine] { return mine != generation_.load(); });
      if (!r) return {nullptr, r.error().message};
      return {r.value(), ""};
    } catch (const std::bad_alloc&) {
      return {nullptr, "out of memory: this workload and world size need more memory than the machine has"};
    } catch (const std::exception& e) {
      return {nullptr, std::string("internal error: ") + e.what()};
    }
  }));
}

void Planner::request(const PlannerInputs& inputs, std::optional<Strategy> keep) {
  launch([inputs, keep](const std::function<bool()>& cancelled) { return plan_snapshot(inputs, keep, cancelled); });
}

void Planner::select(const std::shared_ptr<const Snapshot>& base, const Strategy& selection) {
  launch([base, selection](const std::function<bool()>&) -> Result<std::shared_ptr<Snapshot>> {
    const auto start = std::chrono::steady_clock::now();
    auto snap = std::make_shared<Snapshot>(*base);
    if (auto ok = fill_selection(*snap, selection); !ok) return ok.error();
    snap->elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return snap;
  });
}

}  // namespace cpsim::gui
