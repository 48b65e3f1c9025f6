// View 1: the mask at tile resolution, coloured by the rank that owns each query cell, in original or
// rearranged order, with a rank legend and token axes. Wheel zooms (down to single 128x128 tiles), dragging
// pans, double-click fits; hovering shows the cell's tokens, documents, visible pairs and tile kind.
#pragma once

#include <QImage>
#include <QWidget>
#include <memory>

#include "gui/app/palette.h"
#include "gui/app/planner.h"

namespace cpsim::gui {

class MaskView : public QWidget {
  Q_OBJECT

 public:
  explicit MaskView(QWidget* parent = nullptr);
  // A new plan fits the whole mask again; nullptr blanks the view with `reason`.
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot, const QString& reason = {});
  std::shared_ptr<const Snapshot> snapshot() const { return snap_; }
  QString message() const { return message_; }
  void set_rearranged(bool rearranged);
  // The visible window: first query and key token (slot or position) and the tokens per side.
  std::int64_t q_origin() const { return q0_; }
  std::int64_t k_origin() const { return k0_; }
  std::int64_t span() const { return span_; }
  std::int64_t tokens_per_cell() const;
  void fit();
  void zoom_at(double factor, QPointF at);
  QRect image_rect() const;

 protected:
  void paintEvent(QPaintEvent*) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;

 private:
  const MaskRaster* raster() const;
  void rebuild();
  void clamp_window();
  void paint_axes(class QPainter& p, const QRect& target) const;
  void paint_legend(class QPainter& p, const QRect& target) const;
  std::shared_ptr<const Snapshot> snap_;
  QString message_;
  bool rearranged_ = true;
  std::int64_t q0_ = 0, k0_ = 0, span_ = 0;
  MaskRaster zoomed_;  // the window's raster when zoomed in (the snapshot holds the whole mask's)
  QImage image_;
  bool dragging_ = false;
  QPointF drag_at_;
  std::int64_t drag_q0_ = 0, drag_k0_ = 0;
};

}  // namespace cpsim::gui
