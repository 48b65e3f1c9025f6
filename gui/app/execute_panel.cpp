// The execute panel: plan file in a temporary folder, QProcess, MEASURED.json back into the rank table.
#include "gui/app/execute_panel.h"

#include <QCheckBox>
#include <QComboBox>
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
  controls->addStretch();
  layout->addLayout(controls);
  progress_ = new QProgressBar;
  progress_->setRange(0, 1);
  progress_->setValue(0);
  layout->addWidget(progress_);
  status_ = new QLabel("Runs `cpsim execute` on the selected plan and compares the output with a reference.");
  status_->setWordWrap(true);
  layout->addWidget(status_);
  auto* table = new QTableView;
  table->setModel(model_);
  table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table->verticalHeader()->hide();
  layout->addWidget(table, 2);
  log_ = new QPlainTextEdit;
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(500);
  layout->addWidget(log_, 1);
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
  snap_ = std::move(snapshot);
  model_->set_plan(snap_->plan, snap_->simulation);
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
  const bool gradients_ok = !m->backward.ran || m->backward.verified;
  const QString backward = m->backward.ran ? QString("; backward %1, dQ/dK/dV max abs error %2 (tolerance %3)")
                                                 .arg(m->backward.verified ? "VERIFIED" : "VERIFICATION FAILED")
                                                 .arg(m->backward.max_abs_error, 0, 'g', 3)
                                                 .arg(m->backward.tolerance, 0, 'g', 3)
                                           : QString();
  const Comparability& c = model_->comparability();
  const QString comparison = c.comparable ? QString("Measured at the reduced shape above, predicted for %1 at the plan's shape.")
                                                .arg(QString::fromStdString(snap_->profile.name))
                                          : QString("No error column: %1; calibrate a profile for this machine to compare.")
                                                .arg(QString::fromStdString(c.why_not));
  status_->setText(QString("%1 on %2: max abs error %3 (tolerance %4)%5. %6")
                       .arg(m->verified ? "VERIFIED" : "VERIFICATION FAILED", QString::fromStdString(m->device))
                       .arg(m->max_abs_error, 0, 'g', 3)
                       .arg(m->tolerance, 0, 'g', 3)
                       .arg(backward, comparison));
  emit run_finished(m->verified && gradients_ok);
}

}  // namespace cpsim::gui
