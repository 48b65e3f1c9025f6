// Execute: runs `cpsim execute` on the selected plan as a child process (QProcess) with the CPU executor
// by default, shows its progress, can cancel it, and when done shows measured against predicted per rank (the
// error only where the two are comparable: same device kind and kernel); the measurement can be saved anywhere.
// A result belongs to its plan: a new plan clears it.
#pragma once

#include <QProcess>
#include <QTemporaryDir>
#include <QWidget>
#include <memory>

#include "gui/app/planner.h"
#include "gui/models/rank_work_model.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace cpsim::gui {

// The cpsim binary: $CPSIM_BINARY, next to cpsim-gui, ../cli/cpsim in a build tree, or cpsim on PATH.
QString find_cpsim_binary();

class ExecutePanel : public QWidget {
  Q_OBJECT

 public:
  ExecutePanel(RankWorkModel* model, QWidget* parent = nullptr);
  // A new plan (or nullptr: none) clears the previous run's result and cancels a run in flight.
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot);
  bool has_measurement() const { return has_measurement_; }
  // Copies the last run's MEASURED.json to `path`.
  Status save_measurement_to(const QString& path);
  bool running() const { return process_->state() != QProcess::NotRunning; }
  QString status_text() const;
  // Whether the next run also checks the backward pass (the "backward" box; cpu only).
  void set_backward(bool on);

 public slots:
  void start();
  void cancel();

 signals:
  void run_finished(bool verified);

 private:
  void on_finished(int exit_code, QProcess::ExitStatus status);
  void save_measurement_dialog();
  bool has_measurement_ = false;
  QPushButton* save_;
  RankWorkModel* model_;
  std::shared_ptr<const Snapshot> snap_;
  QProcess* process_;
  QTemporaryDir dir_;
  QPushButton *run_, *cancel_;
  QProgressBar* progress_;
  QPlainTextEdit* log_;
  QLabel* status_;
  QSpinBox *q_heads_, *kv_heads_, *head_dim_;
  QComboBox* device_;
  QCheckBox* backward_;  // also run and check the backward pass (cpu only)
};

}  // namespace cpsim::gui
