// Builds the stacked bar chart of the selected plan's per-rank work.
#include "gui/app/work_chart.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QLegendMarker>
#include <QLineSeries>
#include <QStackedBarSeries>
#include <QValueAxis>
#include <algorithm>

#include "gui/app/palette.h"
#include "gui/app/ticks.h"

namespace cpsim::gui {

WorkChart::WorkChart(QWidget* parent) : QChartView(parent) {
  setRenderHint(QPainter::Antialiasing);
  setMinimumSize(240, 200);
  chart()->setTitle("per-rank work");
}

void WorkChart::set_snapshot(std::shared_ptr<const Snapshot> snapshot, const QString& reason) {
  snap_ = std::move(snapshot);
  message_ = snap_ ? QString() : reason;
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
    chart->setTitle(message_.isEmpty() ? "no plan yet" : message_);
    QChart* old = this->chart();
    setChart(chart);
    delete old;
    return;
  }
  const Plan& plan = snap_->plan;
  const std::int64_t w = plan.world_size;
  auto* series = new QStackedBarSeries();
  double total = 0;
  std::vector<double> per_rank(static_cast<std::size_t>(w), 0.0);
  QString y_title;
  if (stack_ == Stack::kRingStep) {
    // Step i holds the K/V of rank r - i; past 8 steps the legend gives way to the ramp's ends, named here.
    chart->setTitle(w <= 8 ? QString("useful pairs per rank, by ring step")
                            : QString("pairs by ring step: dark step 0 to light step %1").arg(w - 1));
    setToolTip("Useful (q, k) pairs each rank computes, stacked by ring step: step i holds the K/V of rank r - i; "
               "the grey ramp runs from step 0 (the rank's own K/V, darkest) to the last step (lightest).");
    y_title = "pairs (millions)";
    for (std::int64_t i = 0; i < w; ++i) {
      auto* set = new QBarSet(QString("step %1").arg(i));
      set->setColor(step_color(static_cast<int>(i), static_cast<int>(w)));
      set->setBorderColor(step_color(static_cast<int>(i), static_cast<int>(w)));
      for (std::int64_t r = 0; r < w; ++r) {
        const double v = static_cast<double>(plan.work.step_pairs(r, i)) / 1e6;
        *set << v;
        total += v;
        per_rank[static_cast<std::size_t>(r)] += v;
      }
      series->append(set);
    }
  } else {
    chart->setTitle("non-empty tiles per rank, by kind");
    setToolTip("Full tiles run unmasked; partial tiles are masked per element and cost a little more.");
    y_title = QString("tiles (%1 x %1 tokens)").arg(plan.block_size);
    auto* full = new QBarSet("full tiles");
    auto* partial = new QBarSet("partial tiles");
    full->setColor(full_tile_color());
    partial->setColor(partial_tile_color());
    for (std::int64_t r = 0; r < w; ++r) {
      const TileCounts t = plan.work.rank_tiles(r);
      *full << static_cast<double>(t.full);
      *partial << static_cast<double>(t.partial);
      total += static_cast<double>(t.nonempty());
      per_rank[static_cast<std::size_t>(r)] = static_cast<double>(t.nonempty());
    }
    series->append(full);
    series->append(partial);
  }
  series->setBarWidth(0.8);
  chart->addSeries(series);
  // Bars sit on a hidden category axis; a value axis over the same range labels every rank, or every
  // 2nd, 4th, ... once 64 labels no longer fit.
  QStringList ranks;
  for (std::int64_t r = 0; r < w; ++r) ranks << QString::number(r);
  auto* x = new QBarCategoryAxis();
  x->append(ranks);
  x->setVisible(false);
  auto* y = new QValueAxis();
  const double top = *std::max_element(per_rank.begin(), per_rank.end());
  y->setRange(0, top > 0 ? top * 1.05 : 1.0);
  y->applyNiceNumbers();
  y->setLabelFormat(nice_step(y->max(), y->tickCount() - 1) >= 1 ? "%.0f" : "%.2g");
  y->setTitleText(y_title);
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  series->attachAxis(x);
  series->attachAxis(y);
  auto* x_ranks = new QValueAxis();
  x_ranks->setRange(-0.5, static_cast<double>(w) - 0.5);
  x_ranks->setTickType(QValueAxis::TicksDynamic);
  x_ranks->setTickAnchor(0);
  const int room = std::max(1, static_cast<int>(width() / 28));  // about 28 px per label
  double stride = 1;
  while (w / stride > room) stride *= 2;
  x_ranks->setTickInterval(stride);
  x_ranks->setLabelFormat("%d");
  x_ranks->setTitleText("rank");
  x_ranks->setGridLineVisible(false);
  chart->addAxis(x_ranks, Qt::AlignBottom);
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
  mean_line->attachAxis(x_ranks);
  mean_line->attachAxis(y);
  chart->legend()->setVisible(true);
  chart->legend()->setAlignment(Qt::AlignRight);
  if (stack_ == Stack::kRingStep && w > 8) {
    // Past 8 entries the legend no longer fits the chart: the title names the ramp, the legend keeps the mean.
    for (auto* marker : chart->legend()->markers(series)) marker->setVisible(false);
  }
  QChart* old = this->chart();
  setChart(chart);
  delete old;
}

}  // namespace cpsim::gui
