// View 2: per-rank workload bars (Qt Charts), stacked by ring step or by full/partial tiles, with the mean
// marked.
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
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot);
  void set_stack(Stack stack);

 private:
  void rebuild();
  std::shared_ptr<const Snapshot> snap_;
  Stack stack_ = Stack::kRingStep;
};

}  // namespace cpsim::gui
