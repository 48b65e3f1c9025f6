// Main window: layout, and the state rule: inputs -> background planner -> every view at once; the table's
// selection and the views never disagree, and a failed plan blanks them all with its reason.
#include "gui/app/main_window.h"

#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include "core/text_format.h"
#include "core/workload_json.h"
#include "gui/app/batch_view.h"
#include "gui/app/execute_panel.h"
#include "gui/app/mask_view.h"
#include "gui/app/sweep_view.h"
#include "gui/app/timeline_view.h"
#include "gui/app/work_chart.h"
#include "gui/models/comparison_model.h"
#include "gui/models/rank_work_model.h"
#include "gui/models/why_text.h"

namespace cpsim::gui {
namespace {

QGroupBox* boxed(const QString& title, QWidget* inner, QWidget* below = nullptr) {
  auto* box = new QGroupBox(title);
  auto* layout = new QVBoxLayout(box);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(inner, 1);
  if (below != nullptr) layout->addWidget(below);
  return box;
}

// Grid places of the four plan views with all shown: mask, work and timeline side by side, the comparison
// across the whole width under them (its columns need it).
struct Place {
  int row, column, rows, columns;
};
constexpr Place kPlaces[4] = {{0, 0, 1, 1}, {0, 1, 1, 1}, {0, 2, 1, 1}, {1, 0, 1, 3}};

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), planner_(new Planner(this)), busy_clock_(new QElapsedTimer) {
  build_ui();
  build_menus();
  connect(planner_, &Planner::ready, this, &MainWindow::apply);
  connect(planner_, &Planner::failed, this, [this](const QString& m) {
    if (m != "cancelled") blank(m);
  });
  QSettings settings("cpsim", "cpsim-gui");
  world_size_->setValue(settings.value("world_size", 8).toInt());
  const QString hw = settings.value("hardware", "h100-sxm-8x").toString();
  if (hardware_->findData(hw) >= 0 || QFileInfo(hw).isFile()) set_hardware(hw);
  backward_->setChecked(settings.value("backward", false).toBool());
  if (settings.contains("geometry")) restoreGeometry(settings.value("geometry").toByteArray());
  last_error_.clear();
  setWindowTitle("cpsim");
}

MainWindow::~MainWindow() = default;

QWidget* MainWindow::build_inputs() {
  auto* inputs = new QWidget;
  auto* form = new QFormLayout(inputs);
  file_label_ = new QLabel("(no workload)");
  file_label_->setWordWrap(true);
  form->addRow(file_label_);
  auto* open = new QPushButton("Open workload...");
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
  auto* open_hw = new QPushButton("Open profile...");
  open_hw->setToolTip("A hardware profile JSON file, e.g. what `cpsim calibrate` writes");
  connect(open_hw, &QPushButton::clicked, this, &MainWindow::open_hardware_dialog);
  form->addRow(open_hw);
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
  inputs->setMaximumWidth(250);
  return inputs;
}

void MainWindow::build_ui() {
  QWidget* inputs = build_inputs();
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
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
  // Every column as wide as its content; the note takes what is left (elided, its full text in the tooltip).
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setSectionResizeMode(ComparisonModel::kNote, QHeaderView::Stretch);
  table_->setTextElideMode(Qt::ElideRight);
  table_->setWordWrap(false);
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& c) { on_row_chosen(c); });
  why_label_ = new QLabel;
  why_label_->setWordWrap(true);
  why_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  grid_host_ = new QWidget;
  grid_ = new QGridLayout(grid_host_);
  grid_->setContentsMargins(0, 0, 0, 0);
  view_boxes_[0] = boxed("1  mask (Ctrl+1)", mask_view_);
  view_boxes_[1] = boxed("2  per-rank work (Ctrl+2)", work_chart_);
  view_boxes_[2] = boxed("3  timeline (Ctrl+3)", timeline_);
  view_boxes_[3] = boxed("4  comparison: select a row to follow that plan (Ctrl+4)", table_, why_label_);
  for (int i = 0; i < 4; ++i) grid_->addWidget(view_boxes_[i], kPlaces[i].row, kPlaces[i].column, kPlaces[i].rows, kPlaces[i].columns);
  for (int c = 0; c < 3; ++c) grid_->setColumnStretch(c, 1);
  grid_->setRowStretch(0, 3);
  grid_->setRowStretch(1, 2);

  rank_model_ = new RankWorkModel(this);
  execute_ = new ExecutePanel(rank_model_);
  view_boxes_[4] = boxed("5  execute and per-rank work (Ctrl+5)", execute_);
  plan_split_ = new QSplitter(Qt::Vertical);
  plan_split_->addWidget(grid_host_);
  plan_split_->addWidget(view_boxes_[4]);
  plan_split_->setStretchFactor(0, 3);
  plan_split_->setStretchFactor(1, 1);
  // Room for the per-rank table's eight rows at W = 8 (about 19 px each) under the controls.
  plan_split_->setSizes({620, 280});

  sweep_ = new SweepView;
  batch_ = new BatchView;
  connect(sweep_, &SweepView::world_size_chosen, this, [this](int w) {
    tabs_->setCurrentIndex(0);
    set_world_size(w);
  });
  connect(batch_, &BatchView::workload_chosen, this,
          [this](const Workload& w, const QString& source, int world_size, const QString& hardware, bool backward) {
            tabs_->setCurrentIndex(0);
            // The batch's own W, profile and pass first, so the one plan made is the line as the batch planned it.
            if (!hardware.isEmpty()) set_hardware(hardware);
            if (world_size > 0) set_world_size(world_size);
            set_backward(backward);
            set_workload(w, source);
          });
  tabs_ = new QTabWidget;
  tabs_->addTab(plan_split_, "plan");
  tabs_->addTab(sweep_, "sweep over W");
  tabs_->addTab(batch_, "batch results");

  auto* central = new QSplitter(Qt::Horizontal);
  central->addWidget(inputs);
  central->addWidget(tabs_);
  central->setStretchFactor(1, 1);
  setCentralWidget(central);

  for (QSpinBox* s : {world_size_, q_heads_, kv_heads_, head_dim_}) connect(s, &QSpinBox::valueChanged, this, [this] { replan(); });
  connect(hardware_, &QComboBox::currentIndexChanged, this, [this] { replan(); });
  connect(backward_, &QCheckBox::toggled, this, [this] { replan(); });
  connect(order_, &QComboBox::currentIndexChanged, this, [this](int i) { mask_view_->set_rearranged(i == 0); });
  connect(stack_, &QComboBox::currentIndexChanged, this,
          [this](int i) { work_chart_->set_stack(i == 0 ? WorkChart::Stack::kRingStep : WorkChart::Stack::kTileKind); });

  // Planning takes up to a second or two at 1M tokens: a busy bar and the elapsed time, the window stays live.
  busy_bar_ = new QProgressBar;
  busy_bar_->setRange(0, 0);
  busy_bar_->setMaximumWidth(160);
  busy_bar_->setVisible(false);
  busy_label_ = new QLabel;
  statusBar()->addPermanentWidget(busy_label_);
  statusBar()->addPermanentWidget(busy_bar_);
  busy_timer_ = new QTimer(this);
  busy_timer_->setInterval(100);
  connect(busy_timer_, &QTimer::timeout, this, [this] {
    busy_label_->setText(QString("planning... %1 s").arg(busy_clock_->elapsed() / 1000.0, 0, 'f', 1));
  });
  statusBar()->showMessage("open or generate a workload");
}

std::vector<std::pair<QString, QWidget*>> MainWindow::views() const {
  return {{"mask", view_boxes_[0]}, {"work", view_boxes_[1]}, {"timeline", view_boxes_[2]}, {"comparison", view_boxes_[3]},
          {"execute", view_boxes_[4]}, {"sweep", sweep_},          {"batch", batch_}};
}

bool MainWindow::planning() const { return planner_->busy(); }

int MainWindow::world_size() const { return world_size_->value(); }

QString MainWindow::hardware() const { return hardware_->currentData().toString(); }

void MainWindow::set_backward(bool on) { backward_->setChecked(on); }

void MainWindow::set_model_shape(int q_heads, int kv_heads, int head_dim) {
  // One re-plan for the three values, not three.
  for (QSpinBox* s : {q_heads_, kv_heads_, head_dim_}) s->blockSignals(true);
  q_heads_->setValue(q_heads);
  kv_heads_->setValue(kv_heads);
  head_dim_->setValue(head_dim);
  for (QSpinBox* s : {q_heads_, kv_heads_, head_dim_}) s->blockSignals(false);
  replan();
}

void MainWindow::show_only(int view) {
  // Alone, a view takes the whole grid (or, for the execute panel, the whole tab); all: back to its place.
  tabs_->setCurrentIndex(0);
  for (int i = 0; i < 4; ++i) {
    grid_->removeWidget(view_boxes_[i]);
    if (view == i) {
      grid_->addWidget(view_boxes_[i], 0, 0, 2, 3);
    } else {
      grid_->addWidget(view_boxes_[i], kPlaces[i].row, kPlaces[i].column, kPlaces[i].rows, kPlaces[i].columns);
    }
    view_boxes_[i]->setVisible(view < 0 || view == i);
  }
  grid_host_->setVisible(view != 4);
  view_boxes_[4]->setVisible(view < 0 || view == 4);
}

std::optional<Strategy> MainWindow::table_selection() const {
  const QModelIndex current = table_->selectionModel()->currentIndex();
  if (!current.isValid()) return std::nullopt;
  const int row = proxy_->mapToSource(current).row();
  if (row < 0 || row >= comparison_model_->rowCount()) return std::nullopt;
  return comparison_model_->candidate(row).strategy;
}

QString MainWindow::why_text() const { return why_label_->text(); }

QString MainWindow::status_text() const { return statusBar()->currentMessage(); }

void MainWindow::set_busy(bool busy, const QString& what) {
  busy_bar_->setVisible(busy);
  busy_label_->setVisible(busy);
  if (busy) {
    busy_clock_->start();
    busy_label_->setText("planning...");
    busy_timer_->start();
    statusBar()->showMessage(what);
  } else {
    busy_timer_->stop();
  }
}

void MainWindow::show_error(const QString& raw) {
  // Messages quote file names, keys and values: control characters are shown escaped, never acted on; one line.
  QString message = QString::fromStdString(printable(raw.toStdString()));
  message.replace('\n', ' ');
  last_error_ = message;
  status_label_->setText(message);
  statusBar()->showMessage(message);
}

void MainWindow::show_info(const QString& message) {
  status_label_->clear();
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
  user_pick_.reset();  // a pick belongs to the workload it was made on
  blank(QString("planning %1 ...").arg(QFileInfo(source).fileName()));
  last_error_.clear();
  status_label_->clear();
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
    planner_->cancel_all();
    request_pending_ = false;
    set_busy(false);
    blank(QString::fromStdString(ok.error().message));
    return;
  }
  in.source = source_.toStdString();
  in.world_size = world_size_->value();
  in.hardware = hardware_->currentData().toString().toStdString();
  in.backward = backward_->isChecked();
  status_label_->clear();
  request_pending_ = true;
  set_busy(true, QString("planning W = %1 on %2 ...").arg(in.world_size).arg(hardware_->currentText()));
  planner_->request(in, user_pick_);
  sweep_->set_inputs(in);
}

void MainWindow::select_table_row(const Strategy& strategy) {
  const int row = comparison_model_->row_of(strategy);
  table_->selectionModel()->blockSignals(true);
  if (row >= 0) {
    const QModelIndex index = proxy_->mapFromSource(comparison_model_->index(row, 0));
    table_->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    table_->scrollTo(index);
  } else {
    table_->selectionModel()->clear();
  }
  table_->selectionModel()->blockSignals(false);
  table_->viewport()->update();
}

void MainWindow::on_row_chosen(const QModelIndex& current) {
  if (!current.isValid() || !snap_) return;
  const int row = proxy_->mapToSource(current).row();
  const Candidate& c = comparison_model_->candidate(row);
  if (!c.valid) {
    // The views keep the plan they show, and the table says so: its selection goes back to that plan.
    show_error(QString::fromStdString(strategy_text(c.strategy) + " cannot run: " + c.reason));
    QTimer::singleShot(0, this, [this] {
      if (snap_) select_table_row(snap_->selection);
    });
    return;
  }
  // Row 0 is the winner: choosing it means "follow the winner" from now on.
  if (row == 0) {
    user_pick_.reset();
  } else {
    user_pick_ = c.strategy;
  }
  if (request_pending_) return replan();  // newer inputs are being planned: plan them with this pick
  if (c.strategy == snap_->selection) return;
  set_busy(true, QString("planning %1 ...").arg(QString::fromStdString(strategy_text(c.strategy))));
  planner_->select(snap_, c.strategy);
}

void MainWindow::apply(std::shared_ptr<const Snapshot> snapshot) {
  request_pending_ = false;
  set_busy(false);
  snap_ = std::move(snapshot);
  last_error_.clear();
  status_label_->clear();
  comparison_model_->set_comparison(snap_->comparison);
  select_table_row(snap_->selection);
  mask_view_->set_snapshot(snap_);
  mask_view_->set_rearranged(order_->currentIndex() == 0);
  work_chart_->set_snapshot(snap_);
  timeline_->set_snapshot(snap_);
  execute_->set_snapshot(snap_);
  const Comparison& c = snap_->comparison;
  QStringList lines;
  lines << "<b>" + QString::fromStdString(winner_line(c)).toHtmlEscaped() + "</b>";
  for (const std::string& line : runtime_lines(c)) lines << QString::fromStdString(line).toHtmlEscaped();
  const int row = comparison_model_->row_of(snap_->selection);
  QString picked;
  if (row > 0) {
    const double best = c.ranked.front().metrics.step_us;
    picked = QString("showing #%1 (your pick), %2x the winner; select row 1 to follow the winner again")
                 .arg(row + 1)
                 .arg(snap_->simulation.metrics.step_us / best, 0, 'f', 2);
    lines << "<i>" + picked.toHtmlEscaped() + "</i>";
  }
  why_label_->setText(lines.join("<br>"));
  why_label_->setStyleSheet("");
  if (user_pick_ && !(user_pick_->with_stages(0) == snap_->selection.with_stages(0))) {
    // The pick cannot run with the new inputs: say so, and follow the winner from here.
    user_pick_.reset();
    show_info("the strategy you picked cannot run with these inputs; showing the winner");
    return;
  }
  statusBar()->showMessage(QString("%1 at W = %2 on %3: predicted %4 ms (%5x the lower bound); updated in %6 ms")
                               .arg(QString::fromStdString(strategy_text(snap_->selection)))
                               .arg(snap_->inputs.world_size)
                               .arg(QString::fromStdString(snap_->profile.name))
                               .arg(snap_->simulation.metrics.step_us / 1000.0, 0, 'f', 3)
                               .arg(snap_->simulation.metrics.ratio_to_lower_bound, 0, 'f', 2)
                               .arg(snap_->elapsed_ms, 0, 'f', 0));
}

void MainWindow::blank(const QString& raw) {
  // Nothing from the previous inputs stays on screen: every view, the table and the execute panel.
  request_pending_ = false;
  const bool planning_now = raw.startsWith("planning");
  QString reason = QString::fromStdString(printable(raw.toStdString()));
  reason.replace('\n', ' ');
  snap_.reset();
  comparison_model_->set_comparison(Comparison{});
  mask_view_->set_snapshot(nullptr, reason);
  work_chart_->set_snapshot(nullptr, reason);
  timeline_->set_snapshot(nullptr, reason);
  execute_->set_snapshot(nullptr);
  why_label_->setText(reason.toHtmlEscaped());
  why_label_->setStyleSheet(planning_now ? "" : "color: #a33;");
  if (!planning_now) {
    set_busy(false);
    show_error(reason);
  }
}

void MainWindow::save_workload() {
  if (!workload_) return show_error("nothing to save: open or generate a workload first");
  const QString path = QFileDialog::getSaveFileName(this, "Save workload", source_, "Workloads (*.json)");
  if (path.isEmpty()) return;
  if (auto ok = cpsim::save_workload(*workload_, path.toStdString()); !ok) return show_error(QString::fromStdString(ok.error().message));
  source_ = path;
  setWindowTitle(QString("cpsim - %1").arg(QFileInfo(path).fileName()));
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
