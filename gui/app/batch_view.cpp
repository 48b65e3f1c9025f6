// Batch tab: reading a batch folder, the two distribution charts and the per-line table.
#include "gui/app/batch_view.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChartView>
#include <QDir>
#include <QFileDialog>
#include <QHeaderView>
#include <QLabel>
#include <QLineSeries>
#include <QPushButton>
#include <QSettings>
#include <QTableWidget>
#include <QValueAxis>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "core/json_fields.h"
#include "core/plan.h"
#include "dataset/batch_file.h"
#include "dataset/batch_report.h"
#include "gui/app/ticks.h"

namespace cpsim::gui {
namespace {

// The best PyTorch-native step time of a line (what summary.csv's speed-up is against), or 0.
double best_pytorch_us(const BatchResult& r) {
  double best = 0;
  for (const auto& x : r.candidates) {
    if (x.pytorch && (best == 0 || x.step_us < best)) best = x.step_us;
  }
  return best;
}

QChartView* make_chart_view() {
  auto* view = new QChartView(new QChart());
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumHeight(180);
  return view;
}

}  // namespace

BatchView::BatchView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout;
  auto* open = new QPushButton("Open batch output folder...");
  connect(open, &QPushButton::clicked, this, &BatchView::open_dialog);
  status_ = new QLabel("Open the folder `cpsim batch BATCHES.jsonl -w W --out-dir DIR` wrote (File > Open batch output folder, Ctrl+B).");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  top->addWidget(open);
  top->addWidget(status_, 1);
  layout->addLayout(top);
  auto* charts = new QHBoxLayout;
  histogram_ = make_chart_view();
  cdf_ = make_chart_view();
  charts->addWidget(histogram_);
  charts->addWidget(cdf_);
  layout->addLayout(charts, 3);
  table_ = new QTableWidget;
  table_->setColumnCount(9);
  table_->setHorizontalHeaderLabels({"line", "seq_len", "rows", "documents", "chosen plan", "runs on", "step ms", "best PyTorch ms", "speed-up"});
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSortingEnabled(false);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setSectionResizeMode(4, QHeaderView::Stretch);
  connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) { open_line(row); });
  layout->addWidget(table_, 2);
  layout->addWidget(new QLabel("Double-click a line to open its workload in the plan tab."));
}

QString BatchView::message() const { return status_->text(); }

void BatchView::open_dialog() {
  QSettings settings("cpsim", "cpsim-gui");
  const QString dir = QFileDialog::getExistingDirectory(this, "Open a cpsim batch output folder", settings.value("batch_dir").toString());
  if (dir.isEmpty()) return;
  settings.setValue("batch_dir", dir);
  open_folder(dir);
}

bool BatchView::open_folder(const QString& dir) {
  const QDir results_dir(QDir(dir).filePath("results"));
  const QStringList files = results_dir.entryList({"line-*.json"}, QDir::Files, QDir::Name);
  if (!results_dir.exists() || files.isEmpty()) {
    status_->setText(QString("%1: no results/line-*.json: not a folder `cpsim batch --out-dir` wrote").arg(dir));
    return false;
  }
  std::vector<BatchResult> results;
  for (const QString& name : files) {
    const std::string path = results_dir.filePath(name).toStdString();
    auto doc = read_json_file(path);
    if (!doc) {
      status_->setText(QString::fromStdString(doc.error().message));
      return false;
    }
    auto r = batch_result_from_json(*doc, path);
    if (!r) {
      status_->setText(QString::fromStdString(r.error().message));
      return false;
    }
    results.push_back(std::move(*r));
  }
  std::sort(results.begin(), results.end(), [](const BatchResult& a, const BatchResult& b) { return a.line < b.line; });
  dir_ = dir;
  results_ = std::move(results);
  show_results();
  return true;
}

void BatchView::show_results() {
  const BatchReport report = aggregate(results_);
  std::vector<double> steps_ms, speedups;
  for (const BatchResult& r : results_) {
    if (!r.chosen.valid) continue;
    steps_ms.push_back(r.chosen.metrics.step_us / 1000.0);
    if (const double torch = best_pytorch_us(r); torch > 0) speedups.push_back(torch / r.chosen.metrics.step_us);
  }
  // Histogram of step times: about sqrt(n) bins of a round width.
  {
    auto* chart = new QChart();
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->setTitle(QString("chosen plans' step time, %1 lines").arg(steps_ms.size()));
    if (!steps_ms.empty()) {
      const auto [lo_it, hi_it] = std::minmax_element(steps_ms.begin(), steps_ms.end());
      const int target = std::clamp(static_cast<int>(std::sqrt(static_cast<double>(steps_ms.size()))), 4, 12);
      const double width = nice_step(std::max(*hi_it - *lo_it, 1e-6), target);
      const double first = std::floor(*lo_it / width) * width;
      const int bins = std::max(1, static_cast<int>(std::floor((*hi_it - first) / width)) + 1);
      auto* set = new QBarSet("lines");
      set->setColor(QColor(110, 110, 110));  // neutral: blue means forward compute in the timeline
      std::vector<int> counts(static_cast<std::size_t>(bins), 0);
      for (const double v : steps_ms) ++counts[static_cast<std::size_t>(std::min(bins - 1, static_cast<int>((v - first) / width)))];
      QStringList labels;
      int most = 0;
      for (int b = 0; b < bins; ++b) {
        *set << counts[static_cast<std::size_t>(b)];
        most = std::max(most, counts[static_cast<std::size_t>(b)]);
        labels << QString("%1-%2").arg(first + width * b, 0, 'g', 4).arg(first + width * (b + 1), 0, 'g', 4);
      }
      auto* series = new QBarSeries();
      series->append(set);
      series->setBarWidth(0.95);
      chart->addSeries(series);
      auto* x = new QBarCategoryAxis();
      x->append(labels);
      x->setTitleText("step time, ms");
      auto* y = new QValueAxis();
      y->setRange(0, most);
      y->applyNiceNumbers();
      y->setLabelFormat("%d");
      y->setTitleText("lines");
      chart->addAxis(x, Qt::AlignBottom);
      chart->addAxis(y, Qt::AlignLeft);
      series->attachAxis(x);
      series->attachAxis(y);
      chart->legend()->setVisible(false);
    }
    QChart* old = histogram_->chart();
    histogram_->setChart(chart);
    delete old;
  }
  // CDF of the speed-up over the best PyTorch-native plan of each line.
  {
    auto* chart = new QChart();
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->setTitle("speed-up of the chosen plan over the best PyTorch-native one (CDF)");
    if (!speedups.empty()) {
      std::sort(speedups.begin(), speedups.end());
      auto* series = new QLineSeries();
      QPen pen(QColor(25, 25, 25));
      pen.setWidth(2);
      series->setPen(pen);
      const double n = static_cast<double>(speedups.size());
      for (std::size_t i = 0; i < speedups.size(); ++i) {
        series->append(speedups[i], static_cast<double>(i) / n);
        series->append(speedups[i], static_cast<double>(i + 1) / n);
      }
      chart->addSeries(series);
      auto* x = new QValueAxis();
      x->setRange(std::min(1.0, speedups.front()) * 0.98, speedups.back() * 1.02);
      x->applyNiceNumbers();
      x->setTitleText("speed-up (x)");
      auto* y = new QValueAxis();
      y->setRange(0, 1);
      y->setTickCount(6);
      y->setLabelFormat("%.1f");
      y->setTitleText("share of lines");
      chart->addAxis(x, Qt::AlignBottom);
      chart->addAxis(y, Qt::AlignLeft);
      series->attachAxis(x);
      series->attachAxis(y);
      chart->legend()->setVisible(false);
    }
    QChart* old = cdf_->chart();
    cdf_->setChart(chart);
    delete old;
  }
  table_->setRowCount(0);
  for (const BatchResult& r : results_) {
    const int row = table_->rowCount();
    table_->insertRow(row);
    auto set = [&](int column, const QString& text) {
      auto* item = new QTableWidgetItem(text);
      if (column != 4 && column != 5) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(row, column, item);
    };
    set(0, QString::number(r.line));
    set(1, QString::number(r.seq_len));
    set(2, QString::number(r.rows));
    set(3, QString::number(r.documents));
    if (!r.chosen.valid) {
      set(4, QString::fromStdString(r.chosen.reason));
      continue;
    }
    set(4, QString::fromStdString(strategy_text(r.chosen.strategy)));
    set(5, QString::fromStdString(std::string(runtime_name(r.chosen.runtime.runtime))));
    set(6, QString::number(r.chosen.metrics.step_us / 1000.0, 'f', 3));
    const double torch = best_pytorch_us(r);
    set(7, torch > 0 ? QString::number(torch / 1000.0, 'f', 3) : QString("-"));
    set(8, torch > 0 ? QString::number(torch / r.chosen.metrics.step_us, 'f', 2) + "x" : QString("-"));
  }
  QString text = QString("%1: %2 lines, chosen plans' mean %3 ms, p95 %4 ms")
                     .arg(dir_)
                     .arg(report.batches)
                     .arg(report.chosen_mean_us / 1000.0, 0, 'f', 3)
                     .arg(report.chosen_p95_us / 1000.0, 0, 'f', 3);
  if (!report.best_pytorch.empty()) {
    for (const StrategyStats& s : report.strategies) {
      if (s.label == report.best_pytorch) {
        text += QString("; best fixed PyTorch-native strategy: %1 (the chosen plans are %2x faster in total)")
                    .arg(QString::fromStdString(s.label))
                    .arg(s.speedup, 0, 'f', 2);
      }
    }
  }
  status_->setText(text);
}

bool BatchView::open_line(int row) {
  if (row < 0 || static_cast<std::size_t>(row) >= results_.size()) return false;
  const BatchResult& r = results_[static_cast<std::size_t>(row)];
  auto settings = read_json_file(QDir(dir_).filePath("batch.json").toStdString());
  int world = 0;
  QString hardware;
  bool backward = false;
  if (settings && settings->is_object()) {
    world = static_cast<int>(settings->value("world_size", 0));
    hardware = QString::fromStdString(settings->value("hardware", std::string()));
    backward = settings->value("backward", false);
  }
  const QString plan_path = QDir(dir_).filePath(QString::fromStdString("plans/" + batch_line_file(r.line)));
  if (QFileInfo(plan_path).isFile()) {
    auto plan = load_plan(plan_path.toStdString());
    if (!plan) {
      status_->setText(QString::fromStdString(plan.error().message));
      return false;
    }
    emit workload_chosen(plan->workload, plan_path, world, hardware, backward);
    return true;
  }
  // --no-plans: the line of the JSONL named in batch.json (relative to where batch ran, or to the folder's parent).
  if (!settings || !settings->contains("source")) {
    status_->setText(QString("%1: no plan file and no batch.json naming the source").arg(plan_path));
    return false;
  }
  QString source = QString::fromStdString((*settings)["source"].get<std::string>());
  if (QFileInfo(source).isRelative() && !QFileInfo(source).exists()) source = QDir(dir_).filePath("../" + source);
  auto lines = read_batch_file(source.toStdString());
  if (!lines) {
    status_->setText(QString::fromStdString(lines.error().message));
    return false;
  }
  for (const BatchLine& l : *lines) {
    if (l.line == r.line) {
      emit workload_chosen(l.workload, QString("%1:%2").arg(source).arg(r.line), world, hardware, backward);
      return true;
    }
  }
  status_->setText(QString("%1 has no line %2").arg(source).arg(r.line));
  return false;
}

}  // namespace cpsim::gui
