// Main window wiring: inputs -> background planner -> views; exports; shortcuts; settings.
#include "gui/app/main_window.h"

#include <QAction>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QPushButton>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTableView>
#include <QVBoxLayout>

#include "core/json_fields.h"
#include "core/text_format.h"
#include "core/workload_json.h"
#include "gui/app/execute_panel.h"
#include "gui/app/generate_dialog.h"
#include "gui/app/mask_view.h"
#include "gui/app/timeline_view.h"
#include "gui/app/work_chart.h"
#include "gui/models/comparison_model.h"
#include "gui/models/rank_work_model.h"
#include "sim/trace.h"

namespace cpsim::gui {
namespace {

QGroupBox* boxed(const QString& title, QWidget* inner) {
  auto* box = new QGroupBox(title);
  auto* layout = new QVBoxLayout(box);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(inner);
  return box;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), planner_(new Planner(this)) {
  build_ui();
  build_menus();
  connect(planner_, &Planner::ready, this, &MainWindow::apply);
  connect(planner_, &Planner::failed, this, [this](const QString& m) {
    if (m != "cancelled") show_error(m);
  });
  QSettings settings("cpsim", "cpsim-gui");
  world_size_->setValue(settings.value("world_size", 8).toInt());
  const int hw = hardware_->findData(settings.value("hardware", "h100-sxm-8x"));
  if (hw >= 0) hardware_->setCurrentIndex(hw);
  backward_->setChecked(settings.value("backward", false).toBool());
  if (settings.contains("geometry")) restoreGeometry(settings.value("geometry").toByteArray());
  setWindowTitle("cpsim");
}

void MainWindow::build_ui() {
  auto* inputs = new QWidget;
  auto* form = new QFormLayout(inputs);
  file_label_ = new QLabel("(no workload)");
  file_label_->setWordWrap(true);
  form->addRow(file_label_);
  auto* open = new QPushButton("Open...");
  auto* generate = new QPushButton("Generate...");
  auto* save = new QPushButton("Save as...");
  connect(open, &QPushButton::clicked, this, [this] {
    QSettings settings("cpsim", "cpsim-gui");
    const QString path = QFileDialog::getOpenFileName(this, "Open workload", settings.value("dir").toString(), "Workloads (*.json)");
    if (!path.isEmpty()) open_workload(path);
  });
  connect(generate, &QPushButton::clicked, this, &MainWindow::generate_workload);
  connect(save, &QPushButton::clicked, this, &MainWindow::save_workload);
  form->addRow(open);
  form->addRow(generate);
  form->addRow(save);
  world_size_ = new QSpinBox;
  world_size_->setRange(1, 1024);
  form->addRow("world size W", world_size_);
  hardware_ = new QComboBox;
  for (const QFileInfo& f : QDir(QString::fromStdString(hardware_dir())).entryInfoList({"*.json"}, QDir::Files, QDir::Name)) {
    hardware_->addItem(f.completeBaseName(), f.completeBaseName());
  }
  form->addRow("hardware", hardware_);
  q_heads_ = new QSpinBox;
  q_heads_->setRange(1, 512);
  kv_heads_ = new QSpinBox;
  kv_heads_->setRange(1, 512);
  head_dim_ = new QSpinBox;
  head_dim_->setRange(8, 512);
  form->addRow("q heads", q_heads_);
  form->addRow("kv heads", kv_heads_);
  form->addRow("head dim", head_dim_);
  backward_ = new QCheckBox("forward + backward");
  form->addRow(backward_);
  order_ = new QComboBox;
  order_->addItems({"rearranged order", "original order"});
  form->addRow("mask view", order_);
  stack_ = new QComboBox;
  stack_->addItems({"by ring step", "by tile kind"});
  form->addRow("work bars", stack_);
  status_label_ = new QLabel;
  status_label_->setWordWrap(true);
  status_label_->setStyleSheet("color: #a33;");
  form->addRow(status_label_);
  inputs->setMaximumWidth(260);

  mask_view_ = new MaskView;
  work_chart_ = new WorkChart;
  timeline_ = new TimelineView;
  comparison_model_ = new ComparisonModel(this);
  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(comparison_model_);
  proxy_->setSortRole(Qt::UserRole);
  table_ = new QTableView;
  table_->setModel(proxy_);
  table_->setSortingEnabled(true);
  table_->sortByColumn(ComparisonModel::kRank, Qt::AscendingOrder);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setStretchLastSection(true);
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& current) {
    if (!current.isValid() || !snap_) return;
    const Candidate& c = comparison_model_->candidate(proxy_->mapToSource(current).row());
    if (!c.valid) {
      status_label_->setText(QString::fromStdString(strategy_text(c.strategy) + " cannot run: " + c.reason));
      return;
    }
    if (c.strategy == snap_->selection) return;
    planner_->select(snap_, c.strategy);
  });

  auto* grid_host = new QWidget;
  auto* grid = new QGridLayout(grid_host);
  grid->setContentsMargins(0, 0, 0, 0);
  view_boxes_[0] = boxed("1  mask (Ctrl+1)", mask_view_);
  view_boxes_[1] = boxed("2  per-rank work (Ctrl+2)", work_chart_);
  view_boxes_[2] = boxed("3  timeline (Ctrl+3)", timeline_);
  view_boxes_[3] = boxed("4  comparison: select a row to follow that plan (Ctrl+4)", table_);
  grid->addWidget(view_boxes_[0], 0, 0);
  grid->addWidget(view_boxes_[1], 0, 1);
  grid->addWidget(view_boxes_[2], 1, 0);
  grid->addWidget(view_boxes_[3], 1, 1);
  grid->setColumnStretch(0, 1);
  grid->setColumnStretch(1, 1);
  grid->setRowStretch(0, 1);
  grid->setRowStretch(1, 1);
  table_->setMinimumWidth(200);

  rank_model_ = new RankWorkModel(this);
  execute_ = new ExecutePanel(rank_model_);
  auto* right = new QSplitter(Qt::Vertical);
  right->addWidget(grid_host);
  right->addWidget(boxed("execute and per-rank work", execute_));
  right->setStretchFactor(0, 4);
  right->setStretchFactor(1, 1);
  auto* central = new QSplitter(Qt::Horizontal);
  central->addWidget(inputs);
  central->addWidget(right);
  central->setStretchFactor(1, 1);
  setCentralWidget(central);

  for (QSpinBox* s : {world_size_, q_heads_, kv_heads_, head_dim_}) connect(s, &QSpinBox::valueChanged, this, [this] { replan(); });
  connect(hardware_, &QComboBox::currentIndexChanged, this, [this] { replan(); });
  connect(backward_, &QCheckBox::toggled, this, [this] { replan(); });
  connect(order_, &QComboBox::currentIndexChanged, this, [this](int i) { mask_view_->set_rearranged(i == 0); });
  connect(stack_, &QComboBox::currentIndexChanged, this,
          [this](int i) { work_chart_->set_stack(i == 0 ? WorkChart::Stack::kRingStep : WorkChart::Stack::kTileKind); });
  statusBar()->showMessage("open or generate a workload");
}

void MainWindow::build_menus() {
  QMenu* file = menuBar()->addMenu("&File");
  file->addAction("&Open workload...", QKeySequence::Open, this, [this] {
    QSettings settings("cpsim", "cpsim-gui");
    const QString path = QFileDialog::getOpenFileName(this, "Open workload", settings.value("dir").toString(), "Workloads (*.json)");
    if (!path.isEmpty()) open_workload(path);
  });
  file->addAction("&Generate workload...", QKeySequence(Qt::CTRL | Qt::Key_G), this, &MainWindow::generate_workload);
  file->addAction("&Save workload as...", QKeySequence::Save, this, &MainWindow::save_workload);
  file->addSeparator();
  file->addAction("&Export plan JSON...", QKeySequence(Qt::CTRL | Qt::Key_E), this, &MainWindow::export_plan);
  file->addAction("Export comparison &CSV...", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C), this, &MainWindow::export_csv);
  file->addAction("Export Chrome &trace...", QKeySequence(Qt::CTRL | Qt::Key_T), this, &MainWindow::export_trace);
  file->addAction("Export view as &PNG...", QKeySequence(Qt::CTRL | Qt::Key_P), this, &MainWindow::export_png);
  file->addSeparator();
  file->addAction("&Quit", QKeySequence::Quit, this, &QWidget::close);
  QMenu* view = menuBar()->addMenu("&View");
  view->addAction("&All views", QKeySequence(Qt::CTRL | Qt::Key_0), this, [this] { show_only(-1); });
  const char* const names[] = {"&Mask", "Per-rank &work", "&Timeline", "&Comparison"};
  for (int i = 0; i < 4; ++i) {
    view->addAction(names[i], QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this, [this, i] { show_only(i); });
  }
  QMenu* run = menuBar()->addMenu("&Run");
  run->addAction("&Execute selected plan", QKeySequence(Qt::CTRL | Qt::Key_R), execute_, &ExecutePanel::start);
  run->addAction("&Cancel execution", QKeySequence(Qt::Key_Escape), execute_, &ExecutePanel::cancel);
}

std::vector<std::pair<QString, QWidget*>> MainWindow::views() const {
  return {{"mask", view_boxes_[0]}, {"work", view_boxes_[1]}, {"timeline", view_boxes_[2]}, {"comparison", view_boxes_[3]}};
}

bool MainWindow::planning() const { return planner_->busy(); }

void MainWindow::show_only(int view) {
  for (int i = 0; i < 4; ++i) view_boxes_[i]->setVisible(view < 0 || view == i);
}

void MainWindow::show_error(const QString& raw) {
  // Messages quote file names, keys and values: control characters are shown escaped, never acted on.
  const QString message = QString::fromStdString(printable(raw.toStdString()));
  last_error_ = message;
  status_label_->setText(message);
  statusBar()->showMessage(message);
}

bool MainWindow::open_workload(const QString& path) {
  auto w = load_workload(path.toStdString());
  if (!w) {
    show_error(QString::fromStdString(w.error().message));
    return false;
  }
  QSettings("cpsim", "cpsim-gui").setValue("dir", QFileInfo(path).absolutePath());
  set_workload(*w, path);
  return true;
}

void MainWindow::set_workload(const Workload& workload, const QString& source) {
  workload_ = workload;
  source_ = source;
  for (QSpinBox* s : {q_heads_, kv_heads_, head_dim_}) s->blockSignals(true);
  q_heads_->setValue(static_cast<int>(workload.model.q_heads));
  kv_heads_->setValue(static_cast<int>(workload.model.kv_heads));
  head_dim_->setValue(static_cast<int>(workload.model.head_dim));
  for (QSpinBox* s : {q_heads_, kv_heads_, head_dim_}) s->blockSignals(false);
  std::size_t docs = 0;
  for (const auto& row : workload.documents) docs += row.size();
  file_label_->setText(QString("<b>%1</b><br>%2 row(s) x %3 tokens, %4 documents, %5")
                           .arg(QFileInfo(source).fileName())
                           .arg(workload.rows())
                           .arg(workload.seq_len)
                           .arg(docs)
                           .arg(QString::fromStdString(std::string(mask_kind_name(workload.mask.kind)))));
  setWindowTitle(QString("cpsim - %1").arg(QFileInfo(source).fileName()));
  replan();
}

void MainWindow::set_world_size(int world_size) { world_size_->setValue(world_size); }

void MainWindow::replan() {
  if (!workload_) return;
  PlannerInputs in;
  in.workload = *workload_;
  in.workload.model.q_heads = q_heads_->value();
  in.workload.model.kv_heads = kv_heads_->value();
  in.workload.model.head_dim = head_dim_->value();
  if (auto ok = validate_workload(in.workload, source_.toStdString()); !ok) {
    show_error(QString::fromStdString(ok.error().message));
    return;
  }
  in.source = source_.toStdString();
  in.world_size = world_size_->value();
  in.hardware = hardware_->currentData().toString().toStdString();
  in.backward = backward_->isChecked();
  std::optional<Strategy> keep;
  if (snap_) keep = snap_->selection;
  status_label_->clear();
  statusBar()->showMessage("planning...");
  planner_->request(in, keep);
}

void MainWindow::apply(std::shared_ptr<const Snapshot> snapshot) {
  snap_ = std::move(snapshot);
  last_error_.clear();
  status_label_->clear();
  comparison_model_->set_comparison(snap_->comparison);
  const int row = comparison_model_->row_of(snap_->selection);
  if (row >= 0) {
    table_->selectionModel()->blockSignals(true);
    table_->selectRow(proxy_->mapFromSource(comparison_model_->index(row, 0)).row());
    table_->selectionModel()->blockSignals(false);
  }
  table_->resizeColumnsToContents();
  mask_view_->set_snapshot(snap_);
  mask_view_->set_rearranged(order_->currentIndex() == 0);
  work_chart_->set_snapshot(snap_);
  timeline_->set_snapshot(snap_);
  execute_->set_snapshot(snap_);
  statusBar()->showMessage(QString("%1: predicted %2 ms (%3x the lower bound); updated in %4 ms")
                               .arg(QString::fromStdString(strategy_text(snap_->selection)))
                               .arg(snap_->simulation.metrics.step_us / 1000.0, 0, 'f', 3)
                               .arg(snap_->simulation.metrics.ratio_to_lower_bound, 0, 'f', 2)
                               .arg(snap_->elapsed_ms, 0, 'f', 0));
}

void MainWindow::save_workload() {
  if (!workload_) return show_error("nothing to save: open or generate a workload first");
  const QString path = QFileDialog::getSaveFileName(this, "Save workload", source_, "Workloads (*.json)");
  if (path.isEmpty()) return;
  if (auto ok = cpsim::save_workload(*workload_, path.toStdString()); !ok) return show_error(QString::fromStdString(ok.error().message));
  source_ = path;
  setWindowTitle(QString("cpsim - %1").arg(QFileInfo(path).fileName()));
}

void MainWindow::generate_workload() {
  GenerateDialog dialog(this);
  if (dialog.exec() != QDialog::Accepted) return;
  GeneratorSpec spec = dialog.spec();
  spec.model.q_heads = q_heads_->value();
  spec.model.kv_heads = kv_heads_->value();
  spec.model.head_dim = head_dim_->value();
  auto w = cpsim::generate_workload(spec);
  if (!w) return show_error(QString::fromStdString(w.error().message));
  set_workload(*w, "generated.json");
}

Status MainWindow::save_plan_to(const QString& path) const {
  if (!snap_) return bad_input("no plan to export yet");
  return save_plan(snap_->plan, path.toStdString());
}

void MainWindow::export_plan() {
  if (!snap_) return show_error("no plan to export yet");
  const QString path = QFileDialog::getSaveFileName(this, "Export plan", "plan.json", "Plans (*.json)");
  if (path.isEmpty()) return;
  if (auto ok = save_plan_to(path); !ok) show_error(QString::fromStdString(ok.error().message));
}

void MainWindow::export_csv() {
  if (!snap_) return show_error("no comparison to export yet");
  const QString path = QFileDialog::getSaveFileName(this, "Export comparison", "compare.csv", "CSV (*.csv)");
  if (path.isEmpty()) return;
  if (auto ok = write_file_atomically(path.toStdString(), comparison_csv(snap_->comparison)); !ok) {
    show_error(QString::fromStdString(ok.error().message));
  }
}

void MainWindow::export_trace() {
  if (!snap_) return show_error("no timeline to export yet");
  const QString path = QFileDialog::getSaveFileName(this, "Export Chrome trace", "trace.json", "Chrome trace (*.json)");
  if (path.isEmpty()) return;
  if (auto ok = write_file_atomically(path.toStdString(), chrome_trace_json(snap_->simulation, source_.toStdString())); !ok) {
    show_error(QString::fromStdString(ok.error().message));
  }
}

void MainWindow::export_png() {
  QStringList names;
  for (const auto& [name, widget] : views()) names << name;
  const QString path = QFileDialog::getSaveFileName(this, "Export views as PNG (one file per view: NAME-<view>.png)", "cpsim.png", "PNG (*.png)");
  if (path.isEmpty()) return;
  const QString stem = path.endsWith(".png") ? path.chopped(4) : path;
  for (const auto& [name, widget] : views()) {
    if (widget->isVisible() && !widget->grab().save(stem + "-" + name + ".png")) show_error("cannot write " + stem + "-" + name + ".png");
  }
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings("cpsim", "cpsim-gui");
  settings.setValue("world_size", world_size_->value());
  settings.setValue("hardware", hardware_->currentData());
  settings.setValue("backward", backward_->isChecked());
  settings.setValue("geometry", saveGeometry());
  if (execute_->running()) execute_->cancel();
  event->accept();
}

}  // namespace cpsim::gui
