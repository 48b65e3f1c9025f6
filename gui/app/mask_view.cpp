// Paints the mask raster as an image and answers hovers.
#include "gui/app/mask_view.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace cpsim::gui {

QColor rank_color(int rank, int ranks) {
  // Evenly spaced hues; alternate lightness so neighbouring ranks stay distinct at W = 64.
  const int hue = static_cast<int>(360.0 * rank / std::max(1, ranks)) % 360;
  return QColor::fromHsl(hue, 170, rank % 2 == 0 ? 120 : 160);
}

MaskView::MaskView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setMinimumSize(240, 240);
}

void MaskView::set_snapshot(std::shared_ptr<const Snapshot> snapshot) {
  snap_ = std::move(snapshot);
  rebuild();
}

void MaskView::set_rearranged(bool rearranged) {
  rearranged_ = rearranged;
  rebuild();
}

const MaskRaster* MaskView::raster() const {
  if (!snap_) return nullptr;
  return rearranged_ ? &snap_->rearranged : &snap_->original;
}

void MaskView::rebuild() {
  const MaskRaster* r = raster();
  if (r == nullptr || r->cells == 0) {
    image_ = QImage();
    update();
    return;
  }
  const int w = static_cast<int>(snap_->plan.world_size);
  image_ = QImage(r->cells, r->cells, QImage::Format_RGB32);
  image_.fill(QColor(250, 250, 250));
  for (int q = 0; q < r->cells; ++q) {
    for (int k = 0; k < r->cells; ++k) {
      const int owner = r->at(q, k);
      if (owner >= 0) image_.setPixelColor(k, q, rank_color(owner, w));
    }
  }
  update();
}

QRect MaskView::image_rect() const {
  const int side = std::max(10, std::min(width(), height() - 24) - 8);
  return {(width() - side) / 2, 22, side, side};
}

void MaskView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  if (image_.isNull()) {
    p.drawText(rect(), Qt::AlignCenter, "no plan yet");
    return;
  }
  const MaskRaster* r = raster();
  p.drawText(QRect(0, 0, width(), 20), Qt::AlignCenter,
             QString("%1 order, %2 tokens per cell; rows: queries, columns: keys; colour: owning rank")
                 .arg(rearranged_ ? "rearranged" : "original")
                 .arg(r->tokens_per_cell));
  const QRect target = image_rect();
  p.drawImage(target, image_);
  p.setPen(QColor(120, 120, 120));
  p.drawRect(target.adjusted(0, 0, -1, -1));
  if (rearranged_) {  // rank boundaries
    const double per_rank = static_cast<double>(snap_->plan.workload.seq_len) / static_cast<double>(snap_->plan.world_size);
    const double scale = target.width() / static_cast<double>(r->cells * r->tokens_per_cell);
    p.setPen(QPen(QColor(60, 60, 60, 90), 1, Qt::DashLine));
    for (std::int64_t rank = 1; rank < snap_->plan.world_size; ++rank) {
      const int at = static_cast<int>(rank * per_rank * scale);
      p.drawLine(target.left(), target.top() + at, target.right(), target.top() + at);
      p.drawLine(target.left() + at, target.top(), target.left() + at, target.bottom());
    }
  }
}

void MaskView::mouseMoveEvent(QMouseEvent* event) {
  const MaskRaster* r = raster();
  const QRect target = image_rect();
  if (r == nullptr || image_.isNull() || !target.contains(event->position().toPoint())) {
    QToolTip::hideText();
    return;
  }
  const int k = static_cast<int>((event->position().x() - target.left()) * r->cells / target.width());
  const int q = static_cast<int>((event->position().y() - target.top()) * r->cells / target.height());
  if (q < 0 || k < 0 || q >= r->cells || k >= r->cells) return;
  const CellInfo info = describe_cell(snap_->plan, *r, q, k);
  QToolTip::showText(event->globalPosition().toPoint(), QString::fromStdString(describe_cell_text(info, rearranged_)), this);
}

}  // namespace cpsim::gui
