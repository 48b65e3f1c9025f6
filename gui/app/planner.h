// Background planning for the GUI: runs compare, then plans and simulates the selected combination and
// rasterises its mask, off the UI thread. A newer request makes older ones stale: they stop early and
// their results are dropped.
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <atomic>
#include <memory>
#include <optional>

#include "core/plan.h"
#include "gui/models/mask_raster.h"
#include "sim/compare.h"
#include "sim/hardware.h"

namespace cpsim::gui {

struct PlannerInputs {
  Workload workload;
  std::string source;
  std::int64_t world_size = 8;
  std::string hardware = "h100-sxm-8x";
  bool backward = false;
  std::int64_t block_size = 128;
};

struct Snapshot {
  PlannerInputs inputs;
  HardwareProfile profile;
  Comparison comparison;
  Strategy selection;  // the row the views follow (a row of `comparison`)
  Plan plan;
  Simulation simulation;
  MaskRaster original, rearranged;
  double elapsed_ms = 0;
};

class Planner : public QObject {
  Q_OBJECT

 public:
  explicit Planner(QObject* parent = nullptr);
  // New inputs: compare everything, then select the winner (or `keep`, whatever its stage count, when it can
  // still run).
  void request(const PlannerInputs& inputs, std::optional<Strategy> keep = std::nullopt);
  // Same inputs, another combination: reuses the comparison of `base`.
  void select(const std::shared_ptr<const Snapshot>& base, const Strategy& selection);
  bool busy() const { return running_ > 0; }
  // Makes every job in flight stale: none of them reports.
  void cancel_all() { ++generation_; }

 signals:
  void ready(std::shared_ptr<const cpsim::gui::Snapshot> snapshot);
  void failed(QString message);

 private:
  struct JobResult {
    std::shared_ptr<Snapshot> snapshot;
    std::string error;
  };
  void launch(std::function<Result<std::shared_ptr<Snapshot>>(const std::function<bool()>&)> job);
  std::atomic<std::uint64_t> generation_{0};
  int running_ = 0;
};

// The work behind a snapshot, callable without Qt's event loop (tests, --screenshot).
Result<std::shared_ptr<Snapshot>> plan_snapshot(const PlannerInputs& inputs, std::optional<Strategy> keep,
                                                const std::function<bool()>& cancelled);

}  // namespace cpsim::gui
