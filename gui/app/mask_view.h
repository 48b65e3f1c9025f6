// View 1: the mask at tile resolution, coloured by the rank that owns each query cell, in original or
// rearranged order; hovering shows the cell's tokens, documents and visible pairs.
#pragma once

#include <QImage>
#include <QWidget>
#include <memory>

#include "gui/app/planner.h"

namespace cpsim::gui {

QColor rank_color(int rank, int ranks);

class MaskView : public QWidget {
  Q_OBJECT

 public:
  explicit MaskView(QWidget* parent = nullptr);
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot);
  void set_rearranged(bool rearranged);

 protected:
  void paintEvent(QPaintEvent*) override;
  void mouseMoveEvent(QMouseEvent* event) override;

 private:
  const MaskRaster* raster() const;
  QRect image_rect() const;
  void rebuild();
  std::shared_ptr<const Snapshot> snap_;
  bool rearranged_ = true;
  QImage image_;
};

}  // namespace cpsim::gui
