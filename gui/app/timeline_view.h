// View 3: the simulated timeline per rank: compute (forward and backward) and communication, with idle
// gaps; hovering shows the op.
#pragma once

#include <QWidget>
#include <memory>

#include "gui/app/planner.h"

namespace cpsim::gui {

class TimelineView : public QWidget {
  Q_OBJECT

 public:
  explicit TimelineView(QWidget* parent = nullptr);
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot);

 protected:
  void paintEvent(QPaintEvent*) override;
  void mouseMoveEvent(QMouseEvent* event) override;

 private:
  QRectF bar_rect(std::size_t rank, const Interval& iv, bool comm) const;
  QRect plot_rect() const;
  std::shared_ptr<const Snapshot> snap_;
};

}  // namespace cpsim::gui
