// Main window actions: menus and shortcuts, hardware profiles (shipped or opened from a file), exports (plan,
// CSV, Chrome trace for Perfetto, PNG) and the Help menu.
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTabWidget>

#include "core/file_io.h"
#include "core/text_format.h"
#include "gui/app/batch_view.h"
#include "gui/app/execute_panel.h"
#include "gui/app/generate_dialog.h"
#include "gui/app/main_window.h"
#include "gui/app/mask_view.h"
#include "gui/app/sweep_view.h"
#include "gui/app/timeline_view.h"
#include "sim/compare.h"
#include "sim/trace.h"

namespace cpsim::gui {
namespace {

// Where the user guide is: the source tree's docs/ (next to the data folder the profiles come from).
QString docs_path() {
  const QString guide = QDir(QString::fromStdString(data_dir())).absoluteFilePath("../docs/gui.md");
  return QFileInfo(guide).exists() ? QFileInfo(guide).canonicalFilePath() : QString("docs/gui.md in the cpsim source tree");
}

}  // namespace

QString MainWindow::shortcuts_text() {
  return "Ctrl+O  open a workload\n"
         "Ctrl+G  generate a workload\n"
         "Ctrl+S  save the workload\n"
         "Ctrl+H  open a hardware profile file\n"
         "Ctrl+B  open a batch output folder\n"
         "Ctrl+E  export the selected plan (PLAN.json)\n"
         "Ctrl+Shift+C  export the comparison (CSV)\n"
         "Ctrl+T  export the timeline as a Chrome trace (open it in ui.perfetto.dev)\n"
         "Ctrl+P  export the visible views as PNG\n"
         "Ctrl+1 .. Ctrl+5  one view alone: mask, per-rank work, timeline, comparison, execute\n"
         "Ctrl+0  all views\n"
         "Ctrl+R  execute the selected plan; Esc cancels\n"
         "Timeline and mask: wheel zooms at the cursor, drag pans, double-click fits (F, +, - on the timeline)\n"
         "Ctrl+Q  quit";
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
  file->addAction("Open &hardware profile...", QKeySequence(Qt::CTRL | Qt::Key_H), this, &MainWindow::open_hardware_dialog);
  file->addAction("Open &batch output folder...", QKeySequence(Qt::CTRL | Qt::Key_B), this, [this] {
    tabs_->setCurrentWidget(batch_);
    batch_->open_dialog();
  });
  file->addSeparator();
  file->addAction("&Export plan JSON...", QKeySequence(Qt::CTRL | Qt::Key_E), this, &MainWindow::export_plan);
  file->addAction("Export comparison &CSV...", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C), this, &MainWindow::export_csv);
  file->addAction("Export Chrome &trace (for Perfetto)...", QKeySequence(Qt::CTRL | Qt::Key_T), this, &MainWindow::export_trace);
  file->addAction("Export view as &PNG...", QKeySequence(Qt::CTRL | Qt::Key_P), this, &MainWindow::export_png);
  file->addSeparator();
  file->addAction("&Quit", QKeySequence::Quit, this, &QWidget::close);
  QMenu* view = menuBar()->addMenu("&View");
  view->addAction("&All views", QKeySequence(Qt::CTRL | Qt::Key_0), this, [this] { show_only(-1); });
  const char* const names[] = {"&Mask", "Per-rank &work", "&Timeline", "&Comparison", "&Execute and per-rank table"};
  for (int i = 0; i < 5; ++i) {
    view->addAction(names[i], QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this, [this, i] { show_only(i); });
  }
  view->addSeparator();
  view->addAction("Fit timeline and mask", this, [this] {
    timeline_->fit();
    mask_view_->fit();
  });
  view->addAction("&Sweep over W", this, [this] { tabs_->setCurrentWidget(sweep_); });
  view->addAction("&Batch results", this, [this] { tabs_->setCurrentWidget(batch_); });
  QMenu* run = menuBar()->addMenu("&Run");
  run->addAction("&Execute selected plan", QKeySequence(Qt::CTRL | Qt::Key_R), execute_, &ExecutePanel::start);
  run->addAction("&Cancel execution", QKeySequence(Qt::Key_Escape), execute_, &ExecutePanel::cancel);
  run->addAction("Run the &sweep over W", this, [this] {
    tabs_->setCurrentWidget(sweep_);
    sweep_->run();
  });
  build_help_menu();
}

void MainWindow::build_help_menu() {
  QMenu* help = menuBar()->addMenu("&Help");
  help->addAction("&Keyboard shortcuts", QKeySequence::HelpContents, this,
                  [this] { QMessageBox::information(this, "cpsim: keyboard shortcuts", shortcuts_text()); });
  help->addAction("&Documentation", this, [this] {
    QMessageBox::information(this, "cpsim: documentation",
                             QString("The GUI's guide: %1\nThe cost model, calibration and results: the other files in the same docs/ "
                                     "folder; the command line: README.md and `cpsim --help`.")
                                 .arg(docs_path()));
  });
  help->addAction("&About cpsim", this, [this] {
    QMessageBox::about(this, "About cpsim",
                       QString("cpsim plans context parallelism for attention: it simulates every load balancer and rotate method "
                               "for real document masks and shows the per-rank work.\n\nQt %1. Hardware profiles: %2.")
                           .arg(qVersion(), QString::fromStdString(hardware_dir())));
  });
}

bool MainWindow::set_hardware(const QString& name_or_path) {
  const int shipped = hardware_->findData(name_or_path);
  if (shipped >= 0) {
    hardware_->setCurrentIndex(shipped);
    return true;
  }
  auto profile = find_hardware_profile(name_or_path.toStdString());
  if (!profile) {
    show_error(QString::fromStdString(profile.error().message));
    return false;
  }
  // A profile file: listed by its name and file, kept as its absolute path (what the planner loads).
  const QString path = QFileInfo(name_or_path).absoluteFilePath();
  int at = hardware_->findData(path);
  if (at < 0) {
    hardware_->addItem(QString("%1 (%2)").arg(QString::fromStdString(profile->name), QFileInfo(path).fileName()), path);
    at = hardware_->count() - 1;
  }
  hardware_->setCurrentIndex(at);
  return true;
}

void MainWindow::open_hardware_dialog() {
  QSettings settings("cpsim", "cpsim-gui");
  const QString path = QFileDialog::getOpenFileName(this, "Open hardware profile (e.g. what cpsim calibrate wrote)",
                                                    settings.value("hardware_dir").toString(), "Hardware profiles (*.json)");
  if (path.isEmpty()) return;
  settings.setValue("hardware_dir", QFileInfo(path).absolutePath());
  set_hardware(path);
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

Status MainWindow::save_trace_to(const QString& path) {
  if (!snap_) return bad_input("no timeline to export yet");
  CPSIM_RETURN_IF_ERROR(write_file_atomically(path.toStdString(), chrome_trace_json(snap_->simulation, source_.toStdString())));
  show_info(QString("wrote %1: open it at https://ui.perfetto.dev (Open trace file, or drag it in) or in chrome://tracing")
                .arg(QFileInfo(path).fileName()));
  return Ok{};
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
  const QString path = QFileDialog::getSaveFileName(this, "Export Chrome trace (opens in ui.perfetto.dev)", "trace.json", "Chrome trace (*.json)");
  if (path.isEmpty()) return;
  if (auto ok = save_trace_to(path); !ok) {
    show_error(QString::fromStdString(ok.error().message));
    return;
  }
  QMessageBox::information(this, "Chrome trace written",
                           QString("Wrote %1.\n\nTo look at it: open https://ui.perfetto.dev in a browser and choose \"Open trace file\" "
                                   "(or drag the file onto the page); chrome://tracing opens it too.")
                               .arg(path));
}

void MainWindow::export_png() {
  const QString path = QFileDialog::getSaveFileName(this, "Export views as PNG (one file per view: NAME-<view>.png)", "cpsim.png", "PNG (*.png)");
  if (path.isEmpty()) return;
  const QString stem = path.endsWith(".png") ? path.chopped(4) : path;
  for (const auto& [name, widget] : views()) {
    if (widget->isVisible() && !widget->grab().save(stem + "-" + name + ".png")) show_error("cannot write " + stem + "-" + name + ".png");
  }
}

}  // namespace cpsim::gui
