// View 2: per-rank workload bars (Qt Charts), stacked by ring step (grey ramp) or by full/partial tiles
// (greens), with the mean marked; round y ticks with the unit in the axis title, rank labels thinned at W >= 32.
#pragma once

#include <QChartView>
#include <memory>

#include "gui/app/planner.h"

namespace cpsim::gui {

class WorkChart : public QChartView {
  Q_OBJECT

 public:
  enum class Stack { kRingStep, kTileKind };
  explicit WorkChart(QWidget* parent = nullptr);
  // nullptr blanks the chart with `reason`.
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot, const QString& reason = {});
  std::shared_ptr<const Snapshot> snapshot() const { return snap_; }
  QString message() const { return message_; }
  void set_stack(Stack stack);

 private:
  void rebuild();
  std::shared_ptr<const Snapshot> snap_;
  QString message_;
  Stack stack_ = Stack::kRingStep;
};

}  // namespace cpsim::gui
