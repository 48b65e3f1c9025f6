// Paints the mask raster of the visible window as an image, with axes and the rank legend, and answers hovers.
#include "gui/app/mask_view.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "gui/app/ticks.h"

namespace cpsim::gui {
namespace {

constexpr int kMaxCells = 256;  // as the planner's whole-mask raster
constexpr int kLeft = 52, kTop = 36, kBottom = 20, kLegend = 64;

}  // namespace

MaskView::MaskView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setMinimumSize(240, 240);
}

void MaskView::set_snapshot(std::shared_ptr<const Snapshot> snapshot, const QString& reason) {
  snap_ = std::move(snapshot);
  message_ = snap_ ? QString() : reason;
  fit();
}

void MaskView::set_rearranged(bool rearranged) {
  rearranged_ = rearranged;
  fit();
}

void MaskView::fit() {
  q0_ = k0_ = 0;
  span_ = snap_ ? snap_->plan.workload.seq_len : 0;
  rebuild();
}

const MaskRaster* MaskView::raster() const {
  if (!snap_) return nullptr;
  if (span_ < snap_->plan.workload.seq_len) return &zoomed_;
  return rearranged_ ? &snap_->rearranged : &snap_->original;
}

std::int64_t MaskView::tokens_per_cell() const {
  const MaskRaster* r = raster();
  return r == nullptr ? 0 : r->tokens_per_cell;
}

void MaskView::clamp_window() {
  const std::int64_t s = snap_->plan.workload.seq_len;
  // Never finer than 8 tiles per side: a tile is then 1/8 of the view, enough to read its kind.
  span_ = std::clamp<std::int64_t>(span_, std::min<std::int64_t>(s, 8 * snap_->plan.block_size), s);
  q0_ = std::clamp<std::int64_t>(q0_, 0, s - span_);
  k0_ = std::clamp<std::int64_t>(k0_, 0, s - span_);
}

void MaskView::rebuild() {
  if (snap_ && span_ < snap_->plan.workload.seq_len) {
    zoomed_ = make_mask_raster_window(snap_->plan, 0, kMaxCells, rearranged_, q0_, k0_, span_);
  }
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
  const int side = std::max(10, std::min(width() - kLeft - kLegend, height() - kTop - kBottom));
  return {kLeft, kTop, side, side};
}

void MaskView::paint_axes(QPainter& p, const QRect& target) const {
  // Token axes: keys along the bottom, queries down the left, in round token counts.
  const int target_ticks = std::max(2, target.width() / 70);
  p.setPen(palette().color(QPalette::WindowText));
  const double scale = target.width() / static_cast<double>(span_);
  const std::vector<double> keys = token_ticks(static_cast<double>(k0_), static_cast<double>(k0_ + span_), target_ticks);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const int x = target.left() + static_cast<int>((keys[i] - static_cast<double>(k0_)) * scale);
    p.drawLine(x, target.bottom(), x, target.bottom() + 3);
    // The last label carries the unit for both axes.
    const QString label = tokens_text(keys[i]) + (i + 1 == keys.size() ? " tokens" : "");
    p.drawText(QRect(x - 50, target.bottom() + 3, 100, 16), Qt::AlignHCenter | Qt::AlignTop, label);
  }
  for (const double t : token_ticks(static_cast<double>(q0_), static_cast<double>(q0_ + span_), target_ticks)) {
    const int y = target.top() + static_cast<int>((t - static_cast<double>(q0_)) * scale);
    p.drawLine(target.left() - 3, y, target.left(), y);
    p.drawText(QRect(0, y - 8, kLeft - 5, 16), Qt::AlignRight | Qt::AlignVCenter, tokens_text(t));
  }
}

void MaskView::paint_legend(QPainter& p, const QRect& target) const {
  // The rank colours, one band per rank, labelled as often as the font allows.
  const int ranks = static_cast<int>(snap_->plan.world_size);
  const QRect bar(target.right() + 10, target.top(), 12, target.height());
  const double band = static_cast<double>(bar.height()) / ranks;
  for (int r = 0; r < ranks; ++r) p.fillRect(QRectF(bar.left(), bar.top() + band * r, bar.width(), std::max(1.0, band)), rank_color(r, ranks));
  p.setPen(QColor(120, 120, 120));
  p.drawRect(bar.adjusted(0, 0, -1, -1));
  int stride = 1;
  while (stride * band < fontMetrics().height()) stride *= 2;
  p.setPen(palette().color(QPalette::WindowText));
  for (int r = 0; r < ranks; r += stride) {
    p.drawText(QRectF(bar.right() + 4, bar.top() + band * r, kLegend - 26, std::max<double>(band, fontMetrics().height())),
               Qt::AlignLeft | Qt::AlignTop, QString::number(r));
  }
  p.drawText(QRect(bar.left() - 4, bar.top() - 18, kLegend, 16), Qt::AlignLeft | Qt::AlignBottom, "rank");
}

void MaskView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  if (image_.isNull()) {
    p.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, message_.isEmpty() ? "no plan yet" : message_);
    return;
  }
  const MaskRaster* r = raster();
  const std::int64_t s = snap_->plan.workload.seq_len;
  const QString title = QString("%1 order, %2 tokens/cell%3; rows q, columns k")
                            .arg(rearranged_ ? "rearranged" : "original")
                            .arg(r->tokens_per_cell)
                            .arg(span_ < s ? QString(", zoomed %1x").arg(static_cast<double>(s) / static_cast<double>(span_), 0, 'f', 1) : QString());
  p.drawText(QRect(4, 0, width() - 8, 20), Qt::AlignCenter, p.fontMetrics().elidedText(title, Qt::ElideRight, width() - 8));
  const QRect target = image_rect();
  // The raster's cells may cover a little more than the window (its last cell is a whole one): scale, then clip.
  const double cover = static_cast<double>(r->cells) * static_cast<double>(r->tokens_per_cell) / static_cast<double>(span_);
  p.save();
  p.setClipRect(target);
  p.drawImage(QRectF(target.left(), target.top(), target.width() * cover, target.height() * cover), image_);
  p.restore();
  p.setPen(QColor(120, 120, 120));
  p.drawRect(target.adjusted(0, 0, -1, -1));
  if (rearranged_) {  // rank boundaries
    const double per_rank = static_cast<double>(s) / static_cast<double>(snap_->plan.world_size);
    const double scale = target.width() / static_cast<double>(span_);
    p.setPen(QPen(QColor(60, 60, 60, 90), 1, Qt::DashLine));
    // Every rank's boundary while they are 8 px apart, else every 2nd, 4th, ... (at W = 64 a grid would hide the mask).
    std::int64_t stride = 1;
    while (stride * per_rank * scale < 8) stride *= 2;
    for (std::int64_t rank = stride; rank < snap_->plan.world_size; rank += stride) {
      const double at = rank * per_rank;
      const double y = (at - static_cast<double>(q0_)) * scale, x = (at - static_cast<double>(k0_)) * scale;
      if (y > 0 && y < target.height()) p.drawLine(target.left(), target.top() + static_cast<int>(y), target.right(), target.top() + static_cast<int>(y));
      if (x > 0 && x < target.width()) p.drawLine(target.left() + static_cast<int>(x), target.top(), target.left() + static_cast<int>(x), target.bottom());
    }
  }
  paint_axes(p, target);
  paint_legend(p, target);
}

void MaskView::zoom_at(double factor, QPointF at) {
  if (!snap_ || factor <= 0) return;
  const QRect target = image_rect();
  const double fx = std::clamp((at.x() - target.left()) / target.width(), 0.0, 1.0);
  const double fy = std::clamp((at.y() - target.top()) / target.height(), 0.0, 1.0);
  const double k_at = static_cast<double>(k0_) + fx * static_cast<double>(span_);
  const double q_at = static_cast<double>(q0_) + fy * static_cast<double>(span_);
  span_ = static_cast<std::int64_t>(std::llround(static_cast<double>(span_) / factor));
  clamp_window();
  k0_ = static_cast<std::int64_t>(k_at - fx * static_cast<double>(span_));
  q0_ = static_cast<std::int64_t>(q_at - fy * static_cast<double>(span_));
  clamp_window();
  rebuild();
}

void MaskView::wheelEvent(QWheelEvent* event) {
  const double notches = event->angleDelta().y() / 120.0;
  if (notches != 0) zoom_at(std::pow(1.5, notches), event->position());
  event->accept();
}

void MaskView::mousePressEvent(QMouseEvent* event) {
  if (!snap_ || event->button() != Qt::LeftButton) return;
  dragging_ = true;
  drag_at_ = event->position();
  drag_q0_ = q0_;
  drag_k0_ = k0_;
  setCursor(Qt::ClosedHandCursor);
}

void MaskView::mouseReleaseEvent(QMouseEvent*) {
  dragging_ = false;
  unsetCursor();
}

void MaskView::mouseDoubleClickEvent(QMouseEvent*) { fit(); }

void MaskView::mouseMoveEvent(QMouseEvent* event) {
  const MaskRaster* r = raster();
  const QRect target = image_rect();
  if (dragging_ && snap_) {
    const double per_px = static_cast<double>(span_) / target.width();
    k0_ = drag_k0_ - static_cast<std::int64_t>((event->position().x() - drag_at_.x()) * per_px);
    q0_ = drag_q0_ - static_cast<std::int64_t>((event->position().y() - drag_at_.y()) * per_px);
    clamp_window();
    if (span_ < snap_->plan.workload.seq_len) rebuild();
    return;
  }
  if (r == nullptr || image_.isNull() || !target.contains(event->position().toPoint())) {
    QToolTip::hideText();
    return;
  }
  const double per_px = static_cast<double>(span_) / target.width() / static_cast<double>(r->tokens_per_cell);  // cells per pixel
  const int k = static_cast<int>((event->position().x() - target.left()) * per_px);
  const int q = static_cast<int>((event->position().y() - target.top()) * per_px);
  if (q < 0 || k < 0 || q >= r->cells || k >= r->cells) return;
  const CellInfo info = describe_cell(snap_->plan, *r, q, k);
  QToolTip::showText(event->globalPosition().toPoint(), QString::fromStdString(describe_cell_text(info, rearranged_)), this);
}

}  // namespace cpsim::gui
