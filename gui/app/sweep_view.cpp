// Sweep tab: runs sweep_world_sizes off the UI thread and draws its rows as three charts and a table.
#include "gui/app/sweep_view.h"

#include <QChartView>
#include <QFutureWatcher>
#include <QHeaderView>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QTableWidget>
#include <QValueAxis>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrent>
#include <cmath>

namespace cpsim::gui {
namespace {

struct SweepJob {
  std::optional<Sweep> sweep;
  std::string error;
};

QChartView* make_chart_view() {
  auto* view = new QChartView(new QChart());
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumHeight(160);
  return view;
}

}  // namespace

SweepView::SweepView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout;
  run_ = new QPushButton("Run sweep");
  connect(run_, &QPushButton::clicked, this, &SweepView::run);
  busy_ = new QProgressBar;
  busy_->setRange(0, 0);
  busy_->setMaximumWidth(160);
  busy_->setVisible(false);
  status_ = new QLabel("open a workload; the sweep runs when this tab is shown");
  status_->setWordWrap(true);
  top->addWidget(run_);
  top->addWidget(busy_);
  top->addWidget(status_, 1);
  layout->addLayout(top);
  auto* charts = new QHBoxLayout;
  time_ = make_chart_view();
  throughput_ = make_chart_view();
  memory_ = make_chart_view();
  charts->addWidget(time_);
  charts->addWidget(throughput_);
  charts->addWidget(memory_);
  layout->addLayout(charts, 3);
  table_ = new QTableWidget;
  table_->setColumnCount(8);
  table_->setHorizontalHeaderLabels({"W", "nodes", "best plan", "step ms", "tokens/s per GPU", "memory GiB", "fits", "best PyTorch can run"});
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setSectionResizeMode(7, QHeaderView::Stretch);
  connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
    if (auto* item = table_->item(row, 0)) emit world_size_chosen(item->text().toInt());
  });
  layout->addWidget(table_, 2);
  layout->addWidget(new QLabel("Click a point (or double-click a row) to load that W in the plan tab."));
}

std::vector<std::int64_t> SweepView::world_sizes_for(const PlannerInputs& in, std::int64_t max_gpus) {
  std::vector<std::int64_t> out;
  for (std::int64_t w = 1; w <= std::min<std::int64_t>(max_gpus, 128); w *= 2) out.push_back(w);
  if (std::find(out.begin(), out.end(), in.world_size) == out.end() && in.world_size <= max_gpus) out.push_back(in.world_size);
  std::sort(out.begin(), out.end());
  return out;
}

void SweepView::set_inputs(const PlannerInputs& inputs) {
  inputs_ = inputs;
  stale_ = true;
  ++generation_;  // a sweep in flight is for older inputs
  if (isVisible()) run();
}

void SweepView::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (stale_ && inputs_) run();
}

QString SweepView::message() const { return status_->text(); }

void SweepView::run() {
  if (!inputs_) return;
  stale_ = false;
  const std::uint64_t mine = ++generation_;
  const PlannerInputs in = *inputs_;
  ++running_;
  busy_->setVisible(true);
  status_->setText(QString("sweeping W for %1 on %2 ...").arg(QString::fromStdString(in.source), QString::fromStdString(in.hardware)));
  auto* watcher = new QFutureWatcher<SweepJob>(this);
  connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, mine] {
    --running_;
    const SweepJob job = watcher->result();
    watcher->deleteLater();
    if (mine != generation_.load()) return;
    busy_->setVisible(false);
    if (!job.sweep) {
      sweep_.reset();
      status_->setText(QString::fromStdString(job.error));
      show_sweep();
    } else {
      sweep_ = job.sweep;
      show_sweep();
    }
    emit finished();
  });
  watcher->setFuture(QtConcurrent::run([in]() -> SweepJob {
    try {
      auto profile = find_hardware_profile(in.hardware);
      if (!profile) return {std::nullopt, profile.error().message};
      SweepOptions options;
      options.world_sizes = world_sizes_for(in, profile->max_gpus());
      options.block_size = in.block_size;
      options.backward = in.backward;
      auto sweep = sweep_world_sizes(in.workload, in.source, *profile, options);
      if (!sweep) return {std::nullopt, sweep.error().message};
      return {*sweep, ""};
    } catch (const std::exception& e) {
      return {std::nullopt, std::string("internal error: ") + e.what()};
    }
  }));
}

void SweepView::choose_near(double world_size) {
  if (!sweep_) return;
  std::int64_t best = 0;
  double distance = 1e300;
  for (const SweepRow& row : sweep_->rows) {
    if (!row.best) continue;
    const double d = std::abs(std::log2(static_cast<double>(row.world_size)) - std::log2(std::max(world_size, 1e-9)));
    if (d < distance) {
      distance = d;
      best = row.world_size;
    }
  }
  if (best > 0) emit world_size_chosen(static_cast<int>(best));
}

void SweepView::show_sweep() {
  struct Chart {
    QChartView* view;
    QString title, unit;
    double (*value)(const SweepPick&);
  };
  const Chart charts[] = {
      {time_, "step time", "ms", [](const SweepPick& p) { return p.candidate.metrics.step_us / 1000.0; }},
      {throughput_, "tokens/s per GPU", "thousand tokens/s", [](const SweepPick& p) { return p.tokens_per_s_per_gpu / 1000.0; }},
      {memory_, "memory per GPU", "GiB", [](const SweepPick& p) { return p.memory_bytes / (1024.0 * 1024.0 * 1024.0); }},
  };
  table_->setRowCount(0);
  for (const Chart& c : charts) {
    auto* chart = new QChart();
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->setTitle(c.title + " against W");
    if (sweep_) {
      auto* best = new QLineSeries();
      best->setName("best plan");
      best->setPointsVisible(true);
      // Black and grey: blue, violet and orange mean timeline operations, hues mean ranks.
      QPen solid(QColor(25, 25, 25));
      solid.setWidth(3);
      best->setPen(solid);
      auto* torch = new QLineSeries();
      torch->setName("best PyTorch can run");
      torch->setPointsVisible(true);
      torch->setColor(QColor(130, 130, 130));
      QPen dashed(QColor(130, 130, 130));
      dashed.setStyle(Qt::DashLine);
      dashed.setWidth(2);
      torch->setPen(dashed);
      double lo = 1e300, hi = 0, wmax = 1;
      for (const SweepRow& row : sweep_->rows) {
        const double w = static_cast<double>(row.world_size);
        wmax = std::max(wmax, w);
        if (row.best) {
          best->append(w, c.value(*row.best));
          lo = std::min(lo, c.value(*row.best));
          hi = std::max(hi, c.value(*row.best));
        }
        if (row.pytorch) {
          torch->append(w, c.value(*row.pytorch));
          lo = std::min(lo, c.value(*row.pytorch));
          hi = std::max(hi, c.value(*row.pytorch));
        }
      }
      chart->addSeries(best);
      chart->addSeries(torch);
      auto* x = new QLogValueAxis();
      x->setBase(2);
      x->setLabelFormat("%d");
      x->setRange(0.8, wmax * 1.25);
      x->setTitleText("W (GPUs)");
      auto* y = new QValueAxis();
      y->setRange(0, hi > 0 ? hi * 1.1 : 1);
      y->applyNiceNumbers();
      y->setLabelFormat(y->max() >= 20 ? "%.0f" : "%.1f");
      y->setTitleText(c.unit);
      chart->addAxis(x, Qt::AlignBottom);
      chart->addAxis(y, Qt::AlignLeft);
      for (QLineSeries* s : {best, torch}) {
        s->attachAxis(x);
        s->attachAxis(y);
        connect(s, &QLineSeries::clicked, this, [this](const QPointF& p) { choose_near(p.x()); });
      }
      if (c.view == memory_ && sweep_->gpu_memory_bytes > 0) {
        auto* limit = new QLineSeries();
        const double gib = sweep_->gpu_memory_bytes / (1024.0 * 1024.0 * 1024.0);
        limit->setName(QString("GPU memory %1 GiB").arg(gib, 0, 'f', 0));
        limit->append(0.8, gib);
        limit->append(wmax * 1.25, gib);
        limit->setColor(QColor(200, 60, 60));
        chart->addSeries(limit);
        limit->attachAxis(x);
        limit->attachAxis(y);
        if (gib > y->max() * 3) limit->setVisible(false);  // far above the data: it would flatten every point
      }
      chart->legend()->setAlignment(Qt::AlignBottom);
    }
    QChart* old = c.view->chart();
    c.view->setChart(chart);
    delete old;
  }
  if (!sweep_) return;
  QString summary;
  for (const SweepRow& row : sweep_->rows) {
    const int r = table_->rowCount();
    table_->insertRow(r);
    auto set = [&](int column, const QString& text) { table_->setItem(r, column, new QTableWidgetItem(text)); };
    set(0, QString::number(row.world_size));
    set(1, QString::number(row.nodes));
    if (!row.best) {
      set(2, QString::fromStdString(row.error));
      continue;
    }
    const SweepPick& b = *row.best;
    set(2, QString::fromStdString(strategy_text(b.candidate.strategy)));
    set(3, QString::number(b.candidate.metrics.step_us / 1000.0, 'f', 3));
    set(4, QString::number(b.tokens_per_s_per_gpu, 'f', 0));
    set(5, QString::number(b.memory_bytes / (1024.0 * 1024.0 * 1024.0), 'f', 2));
    set(6, b.fits ? "yes" : "no");
    set(7, row.pytorch ? QString("%1 at %2 ms").arg(QString::fromStdString(strategy_text(row.pytorch->candidate.strategy)))
                             .arg(row.pytorch->candidate.metrics.step_us / 1000.0, 0, 'f', 3)
                       : QString("-"));
  }
  // The W the plan tab shows, selected.
  for (int r = 0; r < table_->rowCount(); ++r) {
    if (inputs_ && table_->item(r, 0) && table_->item(r, 0)->text().toLongLong() == inputs_->world_size) table_->selectRow(r);
  }
  if (sweep_->best_per_gpu) summary += QString("most tokens/s per GPU among the W that fit: W = %1").arg(*sweep_->best_per_gpu);
  if (sweep_->best_pytorch_per_gpu) summary += QString("; with what PyTorch can run: W = %1").arg(*sweep_->best_pytorch_per_gpu);
  if (sweep_->smallest_fitting) summary += QString("; smallest W that fits: %1").arg(*sweep_->smallest_fitting);
  // Memory here is attention's working set alone, so small W fit and win per GPU; say so rather than advise W = 1.
  if (!summary.isEmpty()) summary += " (memory: attention's working set only, not the model's activations; `cpsim sweep --layers N` adds them)";
  status_->setText(summary.isEmpty() ? "no W fits" : summary);
}

}  // namespace cpsim::gui
