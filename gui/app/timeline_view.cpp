// Paints one lane per rank (compute on top, communication below it) over a zoomable time window.
#include "gui/app/timeline_view.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "gui/app/palette.h"
#include "gui/app/ticks.h"

namespace cpsim::gui {
namespace {

constexpr int kLabelWidth = 64;
constexpr int kTitleHeight = 38;  // title line + legend line
constexpr int kAxisHeight = 24;
constexpr int kOverviewHeight = 30;
constexpr int kOverviewRanks = 16;  // from this many ranks on, an overview strip

}  // namespace

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setFocusPolicy(Qt::ClickFocus);
  setMinimumSize(240, 200);
}

void TimelineView::set_snapshot(std::shared_ptr<const Snapshot> snapshot, const QString& reason) {
  snap_ = std::move(snapshot);
  message_ = snap_ ? QString() : reason;
  fit();
}

double TimelineView::step_us() const { return snap_ ? std::max(1e-9, snap_->simulation.metrics.step_us) : 1.0; }

void TimelineView::fit() {
  t0_us_ = 0;
  t1_us_ = step_us();
  update();
}

bool TimelineView::has_overview() const { return snap_ && snap_->simulation.timeline.ranks.size() >= kOverviewRanks; }

QRect TimelineView::plot_rect() const {
  return rect().adjusted(kLabelWidth, kTitleHeight, -12, -(kAxisHeight + (has_overview() ? kOverviewHeight : 0)));
}

QRect TimelineView::overview_rect() const {
  const QRect plot = plot_rect();
  return {plot.left(), plot.bottom() + kAxisHeight, plot.width(), kOverviewHeight - 6};
}

double TimelineView::x_of(double t_us) const {
  const QRect plot = plot_rect();
  return plot.left() + plot.width() * (t_us - t0_us_) / std::max(1e-12, t1_us_ - t0_us_);
}

double TimelineView::t_of(double x) const {
  const QRect plot = plot_rect();
  return t0_us_ + (x - plot.left()) / std::max(1, plot.width()) * (t1_us_ - t0_us_);
}

void TimelineView::clamp_range() {
  // At most the whole step, at least 1/100000 of it (below a nanosecond nothing more is to be seen).
  const double end = step_us();
  double span = std::clamp(t1_us_ - t0_us_, end * 1e-5, end);
  t0_us_ = std::clamp(t0_us_, 0.0, end - span);
  t1_us_ = t0_us_ + span;
}

void TimelineView::zoom_at(double factor, double x) {
  if (!snap_ || factor <= 0) return;
  const double at = t_of(x);
  t0_us_ = at - (at - t0_us_) / factor;
  t1_us_ = at + (t1_us_ - at) / factor;
  clamp_range();
  update();
}

int TimelineView::label_stride() const {
  if (!snap_) return 1;
  const double lane = static_cast<double>(plot_rect().height()) / std::max<std::size_t>(1, snap_->simulation.timeline.ranks.size());
  const double need = fontMetrics().height() + 1;
  int stride = 1;
  while (stride * lane < need) stride *= 2;
  return stride;
}

QRectF TimelineView::bar_rect(std::size_t rank, const Interval& iv, bool comm) const {
  const QRect plot = plot_rect();
  const double lane = static_cast<double>(plot.height()) / static_cast<double>(snap_->simulation.timeline.ranks.size());
  const double x0 = std::max<double>(plot.left(), x_of(iv.start_us));
  const double x1 = std::min<double>(plot.right() + 1, x_of(iv.end_us));
  const double top = plot.top() + lane * static_cast<double>(rank);
  // Lanes of under 4 px have no room for two rows: communication then draws over the lower half.
  return comm ? QRectF(x0, top + lane * 0.62, std::max(1.0, x1 - x0), std::max(1.0, lane * 0.3))
              : QRectF(x0, top + lane * 0.08, std::max(1.0, x1 - x0), std::max(1.0, lane * 0.52));
}

void TimelineView::paint_legend(QPainter& p) const {
  struct Key {
    QColor color;
    const char* name;
  };
  const Key keys[] = {{forward_color(), "forward"}, {backward_color(), "backward"}, {comm_color(), "comm"}, {idle_color(), "idle"}};
  int x = kLabelWidth;
  const int y = 21;
  for (const Key& k : keys) {
    p.fillRect(x, y + 3, 12, 10, k.color);
    p.setPen(QColor(120, 120, 120));
    p.drawRect(x, y + 3, 12, 10);
    p.setPen(palette().color(QPalette::WindowText));
    const QString text = k.name;
    p.drawText(x + 16, y, 200, 16, Qt::AlignVCenter | Qt::AlignLeft, text);
    x += 16 + p.fontMetrics().horizontalAdvance(text) + 14;
  }
  p.drawText(QRect(x, y, width() - x - 8, 16), Qt::AlignVCenter | Qt::AlignRight,
             width() - x - 8 >= p.fontMetrics().horizontalAdvance("wheel zoom, drag pan, double-click fit")
                 ? QString("wheel zoom, drag pan, double-click fit")
                 : QString());  // no room: Help > Shortcuts lists it, rather than a hint cut mid-word
}

void TimelineView::paint_overview(QPainter& p) const {
  const QRect box = overview_rect();
  const Simulation& sim = snap_->simulation;
  p.fillRect(box, idle_color());
  const std::size_t ranks = sim.timeline.ranks.size();
  const double end = step_us();
  const double row = static_cast<double>(box.height()) / static_cast<double>(ranks);
  for (std::size_t r = 0; r < ranks; ++r) {
    for (const Interval& iv : sim.timeline.ranks[r]) {
      const Op& op = sim.timeline.ops[iv.op];
      if (op.kind == OpKind::kComm) continue;  // the overview shows where compute is; the lanes show the rest
      const double x0 = box.left() + box.width() * iv.start_us / end, x1 = box.left() + box.width() * iv.end_us / end;
      p.fillRect(QRectF(x0, box.top() + row * static_cast<double>(r), std::max(1.0, x1 - x0), std::max(0.5, row)),
                 op.backward ? backward_color() : forward_color());
    }
  }
  const double a = box.left() + box.width() * t0_us_ / end, b = box.left() + box.width() * t1_us_ / end;
  p.setPen(QPen(Qt::black, 1.5));
  p.setBrush(QColor(255, 255, 255, 70));
  p.drawRect(QRectF(a, box.top() - 1, std::max(2.0, b - a), box.height() + 2));
  p.setBrush(Qt::NoBrush);
}

void TimelineView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  if (!snap_) {
    p.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, message_.isEmpty() ? "no simulation yet" : message_);
    return;
  }
  const Simulation& sim = snap_->simulation;
  const QRect plot = plot_rect();
  const bool zoomed = t0_us_ > 0 || t1_us_ < step_us() * (1 - 1e-9);
  const QString title = QString("%1: step %2%3")
                            .arg(QString::fromStdString(strategy_text(sim.strategy)), time_text(sim.metrics.step_us),
                                 zoomed ? QString(", showing %1 - %2").arg(time_text(t0_us_), time_text(t1_us_)) : QString());
  p.drawText(QRect(4, 0, width() - 8, 20), Qt::AlignCenter, p.fontMetrics().elidedText(title, Qt::ElideMiddle, width() - 8));
  paint_legend(p);
  p.fillRect(plot, idle_color());
  const std::size_t ranks = sim.timeline.ranks.size();
  const double lane = static_cast<double>(plot.height()) / static_cast<double>(ranks);
  const int stride = label_stride();
  p.save();
  p.setClipRect(plot);
  for (std::size_t r = 0; r < ranks; ++r) {
    for (const Interval& iv : sim.timeline.ranks[r]) {
      if (iv.end_us < t0_us_ || iv.start_us > t1_us_) continue;
      const Op& op = sim.timeline.ops[iv.op];
      const bool comm = op.kind == OpKind::kComm;
      p.fillRect(bar_rect(r, iv, comm), comm ? comm_color() : op.backward ? backward_color() : forward_color());
    }
  }
  p.restore();
  // Lane labels, thinned to every `stride`-th rank, each with its rank colour (the mask's).
  for (std::size_t r = 0; r < ranks; r += static_cast<std::size_t>(stride)) {
    const QRectF band(0, plot.top() + lane * static_cast<double>(r), kLabelWidth - 4, std::max(lane, fontMetrics().height() * 1.0));
    p.fillRect(QRectF(kLabelWidth - 10, band.top() + std::max(0.0, lane / 2 - 4), 6, std::min(8.0, std::max(2.0, lane))),
               rank_color(static_cast<int>(r), static_cast<int>(ranks)));
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(band.adjusted(0, 0, -10, 0), Qt::AlignRight | Qt::AlignTop, QString("rank %1").arg(r));
  }
  // Time axis: round values with their unit.
  p.setPen(QColor(90, 90, 90));
  p.drawLine(plot.bottomLeft(), plot.bottomRight());
  const double step = nice_step(t1_us_ - t0_us_, std::max(2, plot.width() / 110));
  for (const double t : nice_ticks(t0_us_, t1_us_, std::max(2, plot.width() / 110))) {
    const int x = static_cast<int>(x_of(t));
    p.drawLine(x, plot.bottom(), x, plot.bottom() + 4);
    // One unit for the whole axis, chosen by the tick step: us below 1 ms, ms below 1 s, s above (a CPU run's 200 s).
    const QString label = step >= 1e6   ? QString::number(t / 1e6, 'g', 6) + " s"
                          : step >= 1000 ? QString::number(t / 1000.0, 'g', 6) + " ms"
                                         : QString::number(t, 'g', 6) + " us";
    p.drawText(QRect(x - 50, plot.bottom() + 5, 100, 16), Qt::AlignHCenter, label);
  }
  if (has_overview()) paint_overview(p);
}

QString TimelineView::hover_text(std::size_t rank, const Interval& iv) const {
  const Op& op = snap_->simulation.timeline.ops[iv.op];
  QString text = QString("rank %1: %2\n%3 - %4 (%5)")
                     .arg(rank)
                     .arg(QString::fromStdString(op.name), time_text(iv.start_us), time_text(iv.end_us), time_text(iv.end_us - iv.start_us));
  if (op.kind == OpKind::kComm) return text + QString("\n%1 sent per rank").arg(bytes_text(op.bytes));
  const Plan& plan = snap_->plan;
  const auto r = static_cast<std::int64_t>(rank);
  if (r < plan.world_size && op.step >= 0 && op.step < plan.world_size) {
    const TileCounts& t = plan.work.step_tiles(r, op.step);
    return text + QString("\nring step %1: %2 pairs, %3 full + %4 partial tiles")
                      .arg(op.step)
                      .arg(static_cast<qlonglong>(plan.work.step_pairs(r, op.step)))
                      .arg(static_cast<qlonglong>(t.full))
                      .arg(static_cast<qlonglong>(t.partial));
  }
  if (r < plan.world_size) {
    const TileCounts t = plan.work.rank_tiles(r);
    return text + QString("\nrank's work: %1 pairs, %2 full + %3 partial tiles")
                      .arg(static_cast<qlonglong>(plan.work.rank_pairs(r)))
                      .arg(static_cast<qlonglong>(t.full))
                      .arg(static_cast<qlonglong>(t.partial));
  }
  return text;
}

void TimelineView::mouseMoveEvent(QMouseEvent* event) {
  if (!snap_) return;
  if (dragging_) {
    const QRect plot = plot_rect();
    const double span = t1_us_ - t0_us_;
    t0_us_ = drag_t0_ - (event->position().x() - drag_x_) / std::max(1, plot.width()) * span;
    t1_us_ = t0_us_ + span;
    clamp_range();
    update();
    return;
  }
  const QString text = text_at(event->position());
  if (text.isEmpty()) {
    QToolTip::hideText();
  } else {
    QToolTip::showText(event->globalPosition().toPoint(), text, this);
  }
}

QString TimelineView::text_at(QPointF at) const {
  if (!snap_) return {};
  const auto& t = snap_->simulation.timeline;
  for (std::size_t r = 0; r < t.ranks.size(); ++r) {
    for (const Interval& iv : t.ranks[r]) {
      if (iv.end_us < t0_us_ || iv.start_us > t1_us_) continue;
      const Op& op = t.ops[iv.op];
      if (bar_rect(r, iv, op.kind == OpKind::kComm).contains(at)) return hover_text(r, iv);
    }
  }
  return {};
}

void TimelineView::mousePressEvent(QMouseEvent* event) {
  if (!snap_ || event->button() != Qt::LeftButton) return;
  if (has_overview() && overview_rect().contains(event->position().toPoint())) {
    // A click in the overview centres the window there.
    const QRect box = overview_rect();
    const double at = step_us() * (event->position().x() - box.left()) / std::max(1, box.width());
    const double span = t1_us_ - t0_us_;
    t0_us_ = at - span / 2;
    t1_us_ = at + span / 2;
    clamp_range();
    update();
    return;
  }
  dragging_ = true;
  drag_x_ = event->position().x();
  drag_t0_ = t0_us_;
  setCursor(Qt::ClosedHandCursor);
}

void TimelineView::mouseReleaseEvent(QMouseEvent*) {
  dragging_ = false;
  unsetCursor();
}

void TimelineView::mouseDoubleClickEvent(QMouseEvent*) { fit(); }

void TimelineView::wheelEvent(QWheelEvent* event) {
  if (!snap_) return;
  // One notch (120) zooms by 1.25x, as Perfetto's and Nsight Systems' ctrl-free wheel does about.
  const double notches = event->angleDelta().y() / 120.0;
  if (notches != 0) zoom_at(std::pow(1.25, notches), event->position().x());
  event->accept();
}

void TimelineView::keyPressEvent(QKeyEvent* event) {
  if (event->key() == Qt::Key_F) return fit();
  if (event->key() == Qt::Key_Plus || event->key() == Qt::Key_Equal) return zoom_at(1.5, plot_rect().center().x());
  if (event->key() == Qt::Key_Minus) return zoom_at(1 / 1.5, plot_rect().center().x());
  QWidget::keyPressEvent(event);
}

}  // namespace cpsim::gui
