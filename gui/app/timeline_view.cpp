// Paints one lane per rank: compute on top, communication below it.
#include "gui/app/timeline_view.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <cmath>

namespace cpsim::gui {

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setMinimumSize(240, 200);
}

void TimelineView::set_snapshot(std::shared_ptr<const Snapshot> snapshot) {
  snap_ = std::move(snapshot);
  update();
}

QRect TimelineView::plot_rect() const { return rect().adjusted(56, 24, -12, -28); }

QRectF TimelineView::bar_rect(std::size_t rank, const Interval& iv, bool comm) const {
  const QRect plot = plot_rect();
  const double end = std::max(1e-9, snap_->simulation.metrics.step_us);
  const double lane = static_cast<double>(plot.height()) / static_cast<double>(snap_->simulation.timeline.ranks.size());
  const double x0 = plot.left() + plot.width() * iv.start_us / end;
  const double x1 = plot.left() + plot.width() * iv.end_us / end;
  const double top = plot.top() + lane * static_cast<double>(rank);
  return comm ? QRectF(x0, top + lane * 0.62, std::max(1.0, x1 - x0), lane * 0.28)
              : QRectF(x0, top + lane * 0.08, std::max(1.0, x1 - x0), lane * 0.5);
}

void TimelineView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  if (!snap_) {
    p.drawText(rect(), Qt::AlignCenter, "no simulation yet");
    return;
  }
  const Simulation& sim = snap_->simulation;
  const QRect plot = plot_rect();
  p.fillRect(plot, QColor(252, 252, 252));
  // The strategy first: where the view is narrow the colour key is what gets cut ("...").
  const QString title = QString("%1: step %2 ms  (blue forward, purple backward, orange communication)")
                            .arg(QString::fromStdString(strategy_text(sim.strategy)))
                            .arg(sim.metrics.step_us / 1000.0, 0, 'f', 3);
  p.drawText(QRect(0, 0, width(), 20), Qt::AlignCenter, p.fontMetrics().elidedText(title, Qt::ElideRight, width() - 8));
  const std::size_t ranks = sim.timeline.ranks.size();
  const double lane = static_cast<double>(plot.height()) / static_cast<double>(ranks);
  for (std::size_t r = 0; r < ranks; ++r) {
    if (ranks <= 32 || r % (ranks / 16) == 0) {
      p.setPen(Qt::black);
      p.drawText(QRectF(0, plot.top() + lane * static_cast<double>(r), 52, lane), Qt::AlignRight | Qt::AlignVCenter,
                 QString("rank %1").arg(r));
    }
    for (const Interval& iv : sim.timeline.ranks[r]) {
      const Op& op = sim.timeline.ops[iv.op];
      const bool comm = op.kind == OpKind::kComm;
      const QColor color = comm ? QColor(240, 150, 60) : (op.backward ? QColor(140, 110, 200) : QColor(60, 120, 190));
      p.fillRect(bar_rect(r, iv, comm), color);
    }
  }
  // Time axis in milliseconds.
  p.setPen(QColor(90, 90, 90));
  p.drawLine(plot.bottomLeft(), plot.bottomRight());
  const double end_ms = sim.metrics.step_us / 1000.0;
  const double raw = end_ms / 6.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(std::max(raw, 1e-6))));
  const double step = raw / magnitude < 2 ? 2 * magnitude : raw / magnitude < 5 ? 5 * magnitude : 10 * magnitude;
  for (double t = 0; t <= end_ms + 1e-12; t += step) {
    const int x = plot.left() + static_cast<int>(plot.width() * t / end_ms);
    p.drawLine(x, plot.bottom(), x, plot.bottom() + 4);
    p.drawText(QRect(x - 40, plot.bottom() + 5, 80, 18), Qt::AlignHCenter, QString::number(t, 'g', 4) + " ms");
  }
}

void TimelineView::mouseMoveEvent(QMouseEvent* event) {
  if (!snap_) return;
  const auto& t = snap_->simulation.timeline;
  for (std::size_t r = 0; r < t.ranks.size(); ++r) {
    for (const Interval& iv : t.ranks[r]) {
      const Op& op = t.ops[iv.op];
      if (bar_rect(r, iv, op.kind == OpKind::kComm).contains(event->position())) {
        QToolTip::showText(event->globalPosition().toPoint(),
                           QString("rank %1: %2\n%3 - %4 ms (%5 us)")
                               .arg(r)
                               .arg(QString::fromStdString(op.name))
                               .arg(iv.start_us / 1000.0, 0, 'f', 3)
                               .arg(iv.end_us / 1000.0, 0, 'f', 3)
                               .arg(iv.end_us - iv.start_us, 0, 'f', 1),
                           this);
        return;
      }
    }
  }
  QToolTip::hideText();
}

}  // namespace cpsim::gui
