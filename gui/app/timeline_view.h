// View 3: the simulated timeline per rank: compute (forward and backward) and communication, with idle
// gaps. Wheel zooms the time axis at the cursor, dragging pans, double-click (or F) fits the step; at W >= 16
// an overview strip under the axis shows where the zoomed window is. Hovering shows the op's time, work and bytes.
#pragma once

#include <QWidget>
#include <memory>
#include <utility>

#include "gui/app/planner.h"

namespace cpsim::gui {

class TimelineView : public QWidget {
  Q_OBJECT

 public:
  explicit TimelineView(QWidget* parent = nullptr);
  // A new plan: the view fits its whole step again. nullptr blanks the view with `reason`.
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot, const QString& reason = {});
  std::shared_ptr<const Snapshot> snapshot() const { return snap_; }
  QString message() const { return message_; }
  // The visible time window, in microseconds from the step's start.
  std::pair<double, double> view_range() const { return {t0_us_, t1_us_}; }
  void fit();
  // Zoom by `factor` (> 1 zooms in) keeping the time under pixel x where it is.
  void zoom_at(double factor, double x);
  // The ranks whose names the lane labels show (every one up to the height the font allows).
  int label_stride() const;
  QRect plot_rect() const;
  // What hovering at `at` shows: the op, its times and its work (pairs and tiles) or bytes; empty off the bars.
  QString text_at(QPointF at) const;

 protected:
  void paintEvent(QPaintEvent*) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;

 private:
  double step_us() const;
  double x_of(double t_us) const;
  double t_of(double x) const;
  QRectF bar_rect(std::size_t rank, const Interval& iv, bool comm) const;
  QRect overview_rect() const;
  bool has_overview() const;
  void clamp_range();
  void paint_legend(class QPainter& p) const;
  void paint_overview(class QPainter& p) const;
  QString hover_text(std::size_t rank, const Interval& iv) const;

  std::shared_ptr<const Snapshot> snap_;
  QString message_;
  double t0_us_ = 0, t1_us_ = 1;
  bool dragging_ = false;
  double drag_x_ = 0, drag_t0_ = 0;
};

}  // namespace cpsim::gui
