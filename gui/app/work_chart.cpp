// Builds the stacked bar chart of the selected plan's per-rank work.
#include "gui/app/work_chart.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QLineSeries>
#include <QStackedBarSeries>
#include <QValueAxis>

#include "gui/app/mask_view.h"

namespace cpsim::gui {

WorkChart::WorkChart(QWidget* parent) : QChartView(parent) {
  setRenderHint(QPainter::Antialiasing);
  setMinimumSize(240, 200);
  chart()->setTitle("per-rank work");
}

void WorkChart::set_snapshot(std::shared_ptr<const Snapshot> snapshot) {
  snap_ = std::move(snapshot);
  rebuild();
}

void WorkChart::set_stack(Stack stack) {
  stack_ = stack;
  rebuild();
}

void WorkChart::rebuild() {
  auto* chart = new QChart();
  chart->setAnimationOptions(QChart::NoAnimation);
  if (!snap_) {
    setChart(chart);
    return;
  }
  const Plan& plan = snap_->plan;
  const std::int64_t w = plan.world_size;
  auto* series = new QStackedBarSeries();
  double total = 0;
  if (stack_ == Stack::kRingStep) {
    chart->setTitle(QString("useful (q, k) pairs per rank, by ring step (step i: K/V of rank r - i), millions"));
    for (std::int64_t i = 0; i < w; ++i) {
      auto* set = new QBarSet(QString("step %1").arg(i));
      set->setColor(rank_color(static_cast<int>(i), static_cast<int>(w)));
      for (std::int64_t r = 0; r < w; ++r) {
        const double v = static_cast<double>(plan.work.step_pairs(r, i)) / 1e6;
        *set << v;
        total += v;
      }
      series->append(set);
    }
  } else {
    chart->setTitle("non-empty tiles per rank (full: unmasked, partial: masked per element)");
    auto* full = new QBarSet("full tiles");
    auto* partial = new QBarSet("partial tiles");
    full->setColor(QColor(70, 130, 180));
    partial->setColor(QColor(230, 145, 56));
    for (std::int64_t r = 0; r < w; ++r) {
      const TileCounts t = plan.work.rank_tiles(r);
      *full << static_cast<double>(t.full);
      *partial << static_cast<double>(t.partial);
      total += static_cast<double>(t.nonempty());
    }
    series->append(full);
    series->append(partial);
  }
  series->setBarWidth(0.8);
  chart->addSeries(series);
  QStringList ranks;
  for (std::int64_t r = 0; r < w; ++r) ranks << QString::number(r);
  auto* x = new QBarCategoryAxis();
  x->append(ranks);
  x->setTitleText("rank");
  auto* y = new QValueAxis();
  y->setLabelFormat("%.4g");
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  series->attachAxis(x);
  series->attachAxis(y);
  // The mean, as a line across the bars.
  const double mean = total / static_cast<double>(w);
  auto* mean_line = new QLineSeries();
  mean_line->setName(QString("mean %1").arg(mean, 0, 'g', 4));
  mean_line->append(-0.5, mean);
  mean_line->append(static_cast<double>(w) - 0.5, mean);
  QPen pen(Qt::black);
  pen.setStyle(Qt::DashLine);
  pen.setWidth(2);
  mean_line->setPen(pen);
  chart->addSeries(mean_line);
  auto* x_line = new QValueAxis();
  x_line->setRange(-0.5, static_cast<double>(w) - 0.5);
  x_line->setVisible(false);
  chart->addAxis(x_line, Qt::AlignTop);
  mean_line->attachAxis(x_line);
  mean_line->attachAxis(y);
  chart->legend()->setVisible(w <= 16 || stack_ == Stack::kTileKind);
  chart->legend()->setAlignment(Qt::AlignRight);
  QChart* old = this->chart();
  setChart(chart);
  delete old;
}

}  // namespace cpsim::gui
