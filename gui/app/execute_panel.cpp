// The execute panel: plan file in a temporary folder, QProcess, MEASURED.json back into the rank table.
#include "gui/app/execute_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QSplitter>
#include <QCoreApplication>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QRegularExpression>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QVBoxLayout>

#include "core/file_io.h"
#include "core/measurement.h"

namespace cpsim::gui {

QString find_cpsim_binary() {
  const QString env = qEnvironmentVariable("CPSIM_BINARY");
  if (!env.isEmpty()) return env;
  const QString dir = QCoreApplication::applicationDirPath();
  for (const QString& candidate : {dir + "/cpsim", dir + "/../cli/cpsim"}) {
    if (QFileInfo(candidate).isExecutable()) return QFileInfo(candidate).canonicalFilePath();
  }
  const QString on_path = QStandardPaths::findExecutable("cpsim");
  return on_path.isEmpty() ? QString("cpsim") : on_path;
}

ExecutePanel::ExecutePanel(RankWorkModel* model, QWidget* parent) : QWidget(parent), model_(model), process_(new QProcess(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->setSpacing(3);
  auto* controls = new QHBoxLayout;
  run_ = new QPushButton("Execute (Ctrl+R)");
  cancel_ = new QPushButton("Cancel");
  cancel_->setEnabled(false);
  device_ = new QComboBox;
  device_->addItems({"cpu", "cuda"});
  auto spin = [](int lo, int hi, int v) {
    auto* s = new QSpinBox;
    s->setRange(lo, hi);
    s->setValue(v);
    return s;
  };
  q_heads_ = spin(1, 256, 2);
  kv_heads_ = spin(1, 256, 1);
  head_dim_ = spin(8, 256, 32);
  controls->addWidget(run_);
  controls->addWidget(cancel_);
  controls->addWidget(new QLabel("device"));
  controls->addWidget(device_);
  controls->addWidget(new QLabel("run with q heads"));
  controls->addWidget(q_heads_);
  controls->addWidget(new QLabel("kv heads"));
  controls->addWidget(kv_heads_);
  controls->addWidget(new QLabel("head dim"));
  controls->addWidget(head_dim_);
  backward_ = new QCheckBox("backward");
  backward_->setToolTip("Also run the backward pass and check dQ, dK, dV (CPU only)");
  controls->addWidget(backward_);
  // The CUDA executor runs the forward pass only.
  connect(device_, &QComboBox::currentTextChanged, this, [this](const QString& device) {
    backward_->setEnabled(device == "cpu");
    if (device != "cpu") backward_->setChecked(false);
  });
  save_ = new QPushButton("Save measurement...");
  save_->setEnabled(false);
  save_->setToolTip("Write the last run's MEASURED.json where you choose (for cpsim calibrate)");
  connect(save_, &QPushButton::clicked, this, &ExecutePanel::save_measurement_dialog);
  controls->addWidget(save_);
  controls->addStretch();
  layout->addLayout(controls);
  progress_ = new QProgressBar;
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setMaximumWidth(220);
  status_ = new QLabel("Runs `cpsim execute` on the selected plan and compares the output with a reference.");
  status_->setWordWrap(true);
  auto* state = new QHBoxLayout;
  state->addWidget(progress_);
  state->addWidget(status_, 1);
  layout->addLayout(state);
  // The rank table beside the log, rows as low as the font allows: at W = 8 every rank shows without scrolling.
  auto* table = new QTableView;
  table->setModel(model_);
  table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table->verticalHeader()->hide();
  table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 4);
  log_ = new QPlainTextEdit;
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(500);
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(table);
  split->addWidget(log_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  layout->addWidget(split, 1);
  connect(run_, &QPushButton::clicked, this, &ExecutePanel::start);
  connect(cancel_, &QPushButton::clicked, this, &ExecutePanel::cancel);
  process_->setProcessChannelMode(QProcess::MergedChannels);
  connect(process_, &QProcess::readyRead, this, [this] {
    for (const QString& line : QString::fromUtf8(process_->readAll()).split('\n', Qt::SkipEmptyParts)) {
      // "execute: 12/64 (rank, step) done, 3.1 s" drives the bar; everything else goes to the log.
      static const QRegularExpression progress(R"(execute: (\d+)/(\d+) \(rank, step\) done)");
      const auto match = progress.match(line);
      if (match.hasMatch()) {
        progress_->setRange(0, match.captured(2).toInt());
        progress_->setValue(match.captured(1).toInt());
        progress_->setFormat(match.captured(2) == match.captured(1) ? "checking against the reference..." : "%v / %m ring steps");
        continue;
      }
      log_->appendPlainText(line.trimmed());
    }
  });
  connect(process_, &QProcess::finished, this, &ExecutePanel::on_finished);
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError) {
    if (process_->state() == QProcess::NotRunning) {
      status_->setText("could not run " + process_->program() + ": " + process_->errorString());
      progress_->setRange(0, 1);
      run_->setEnabled(true);
      cancel_->setEnabled(false);
    }
  });
}

QString ExecutePanel::status_text() const { return status_->text() + "\n" + log_->toPlainText(); }

void ExecutePanel::set_snapshot(std::shared_ptr<const Snapshot> snapshot) {
  if (snapshot == snap_) return;
  if (running()) {
    process_->kill();
    process_->waitForFinished(2000);
  }
  snap_ = std::move(snapshot);
  has_measurement_ = false;
  save_->setEnabled(false);
  QFile::remove(dir_.filePath("measured.json"));
  log_->clear();
  progress_->setRange(0, 1);
  progress_->setValue(0);
  if (!snap_) {
    model_->clear();
    status_->setText("No plan: nothing to execute.");
    return;
  }
  model_->set_plan(snap_->plan, snap_->simulation);
  status_->setText(QString("Runs `cpsim execute` on %1 (%2 ranks) and compares the output with a reference.")
                       .arg(QString::fromStdString(strategy_text(snap_->selection)))
                       .arg(snap_->plan.world_size));
}

Status ExecutePanel::save_measurement_to(const QString& path) {
  if (!has_measurement_) return bad_input("no measurement to save: execute a plan first");
  auto text = read_input_file(dir_.filePath("measured.json").toStdString());
  if (!text) return text.error();
  return write_file_atomically(path.toStdString(), *text);
}

void ExecutePanel::save_measurement_dialog() {
  const QString path = QFileDialog::getSaveFileName(this, "Save measurement (MEASURED.json, for cpsim calibrate)", "measured.json", "Measurements (*.json)");
  if (path.isEmpty()) return;
  if (auto ok = save_measurement_to(path); !ok) {
    status_->setText(QString::fromStdString(ok.error().message));
  } else {
    status_->setText(status_->text() + QString(" Saved to %1.").arg(path));
  }
}

void ExecutePanel::start() {
  if (!snap_ || running()) return;
  if (snap_->selection.ulysses > 1) {
    status_->setText("Ulysses strategies are simulated only: the executors run plans without Ulysses; pick another row");
    return;
  }
  const QString plan_path = dir_.filePath("plan.json");
  const QString out_path = dir_.filePath("measured.json");
  QFile::remove(out_path);
  if (auto ok = save_plan(snap_->plan, plan_path.toStdString()); !ok) {
    status_->setText(QString::fromStdString(ok.error().message));
    return;
  }
  model_->set_measurement(std::nullopt);
  log_->clear();
  QStringList args{"execute", plan_path, "--out", out_path, "--progress", "--device", device_->currentText(),
                   "--q-heads", QString::number(q_heads_->value()), "--kv-heads", QString::number(kv_heads_->value()),
                   "--head-dim", QString::number(head_dim_->value())};
  if (backward_->isChecked()) args << "--backward";
  status_->setText(QString("running %1 on %2 ranks ...")
                       .arg(QString::fromStdString(strategy_text(snap_->selection)))
                       .arg(snap_->plan.world_size));
  progress_->setRange(0, 0);  // busy
  run_->setEnabled(false);
  cancel_->setEnabled(true);
  process_->start(find_cpsim_binary(), args);
}

void ExecutePanel::set_backward(bool on) { backward_->setChecked(on && backward_->isEnabled()); }

void ExecutePanel::cancel() {
  if (!running()) return;
  process_->kill();
  status_->setText("cancelled");
}

void ExecutePanel::on_finished(int exit_code, QProcess::ExitStatus status) {
  progress_->setRange(0, 1);
  progress_->setValue(1);
  progress_->setFormat("%p%");
  run_->setEnabled(true);
  cancel_->setEnabled(false);
  if (status != QProcess::NormalExit) {
    if (status_->text() != "cancelled") status_->setText("cpsim execute stopped abnormally");
    emit run_finished(false);
    return;
  }
  auto m = load_measurement(dir_.filePath("measured.json").toStdString());
  if (!m) {
    status_->setText(QString("cpsim execute ended with status %1; see its output below").arg(exit_code));
    emit run_finished(false);
    return;
  }
  model_->set_measurement(*m);
  has_measurement_ = true;
  save_->setEnabled(true);
  const bool gradients_ok = !m->backward.ran || m->backward.verified;
  const QString backward = m->backward.ran ? QString("; backward %1, dQ/dK/dV max abs error %2 (tolerance %3)")
                                                 .arg(m->backward.verified ? "VERIFIED" : "VERIFICATION FAILED")
                                                 .arg(m->backward.max_abs_error, 0, 'g', 3)
                                                 .arg(m->backward.tolerance, 0, 'g', 3)
                                           : QString();
  const Comparability& c = model_->comparability();
  const QString comparison = c.comparable ? QString("Measured at the reduced shape above, predicted for %1 at the plan's shape.")
                                                .arg(QString::fromStdString(snap_->profile.name))
                                          : QString("No error column: %1, so a percentage would compare unlike things. A run is "
                                                    "compared with a prediction for the same kind of device: pick hardware %2 (or a profile "
                                                    "`cpsim calibrate` fitted for this machine) and run again.")
                                                .arg(QString::fromStdString(c.why_not),
                                                     m->device_kind == DeviceKind::kCpu ? QString("cpu-threads")
                                                                                                             : QString("for this GPU"));
  status_->setText(QString("%1 on %2: max abs error %3 (tolerance %4)%5. %6")
                       .arg(m->verified ? "VERIFIED" : "VERIFICATION FAILED", QString::fromStdString(m->device))
                       .arg(m->max_abs_error, 0, 'g', 3)
                       .arg(m->tolerance, 0, 'g', 3)
                       .arg(backward, comparison));
  emit run_finished(m->verified && gradients_ok);
}

}  // namespace cpsim::gui
