// The main window: inputs on the left; tabs for the plan (mask, per-rank work, timeline, comparison with
// its why-lines, execute), the sweep over W and a batch run's results. Every view follows the plan selected in
// the comparison table; invalid inputs blank them with the reason; one view can fill the tab (Ctrl+1..5).
#pragma once

#include <QMainWindow>
#include <memory>
#include <optional>

#include "gui/app/planner.h"

class QCheckBox;
class QComboBox;
class QElapsedTimer;
class QGridLayout;
class QLabel;
class QProgressBar;
class QSortFilterProxyModel;
class QSpinBox;
class QSplitter;
class QTabWidget;
class QTableView;
class QTimer;

namespace cpsim::gui {

class BatchView;
class ComparisonModel;
class ExecutePanel;
class MaskView;
class RankWorkModel;
class SweepView;
class TimelineView;
class WorkChart;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;
  // Loads a workload file; problems are shown in the window, never fatal.
  bool open_workload(const QString& path);
  // A new workload: old results (views, comparison, the execute panel's measurement) are cleared at once.
  void set_workload(const Workload& workload, const QString& source);
  void set_world_size(int world_size);
  int world_size() const;
  // A shipped profile's name or a profile file (what `cpsim calibrate` writes); false with the error shown.
  bool set_hardware(const QString& name_or_path);
  QString hardware() const;  // the current choice: a name or a file path
  void set_backward(bool on);
  void set_model_shape(int q_heads, int kv_heads, int head_dim);
  std::shared_ptr<const Snapshot> snapshot() const { return snap_; }
  bool planning() const;
  QString last_error() const { return last_error_; }
  // The views, for screenshots and tests: mask, work, timeline, comparison, execute, sweep, batch.
  std::vector<std::pair<QString, QWidget*>> views() const;
  QTableView* comparison_table() const { return table_; }
  MaskView* mask_view() const { return mask_view_; }
  WorkChart* work_chart() const { return work_chart_; }
  TimelineView* timeline() const { return timeline_; }
  ExecutePanel* execute_panel() const { return execute_; }
  SweepView* sweep_view() const { return sweep_; }
  BatchView* batch_view() const { return batch_; }
  QTabWidget* tabs() const { return tabs_; }
  // The strategy of the table's current row (what the views must show), or nothing.
  std::optional<Strategy> table_selection() const;
  QString why_text() const;  // the lines under the table
  QString status_text() const;
  // Ctrl+1..5 (0..4): one view fills the plan tab; -1: all.
  void show_only(int view);
  // What Export plan writes: the selected row's plan, its strategy and prediction.
  Status save_plan_to(const QString& path) const;
  Status save_trace_to(const QString& path);
  static QString shortcuts_text();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void build_ui();
  QWidget* build_inputs();
  void build_menus();
  void build_help_menu();
  void replan();
  void apply(std::shared_ptr<const Snapshot> snapshot);
  void blank(const QString& reason);
  void on_row_chosen(const QModelIndex& current);
  void select_table_row(const Strategy& strategy);
  void set_busy(bool busy, const QString& what = {});
  void show_error(const QString& message);
  void show_info(const QString& message);
  void open_hardware_dialog();
  void save_workload();
  void generate_workload();
  void export_plan();
  void export_csv();
  void export_trace();
  void export_png();

  Planner* planner_;
  std::optional<Workload> workload_;
  QString source_;
  std::shared_ptr<const Snapshot> snap_;
  // The strategy the user picked in the table when it is not the winner: kept across changes while it can
  // run; otherwise (nothing) the selection follows each new winner.
  std::optional<Strategy> user_pick_;
  bool request_pending_ = false;  // inputs changed and their plan has not arrived yet
  QString last_error_;

  QLabel* file_label_;
  QLabel* status_label_;
  QSpinBox *world_size_, *q_heads_, *kv_heads_, *head_dim_;
  QComboBox *hardware_, *order_, *stack_;
  QCheckBox* backward_;
  QTabWidget* tabs_;
  QGridLayout* grid_;
  QWidget* grid_host_;
  QSplitter* plan_split_;
  MaskView* mask_view_;
  WorkChart* work_chart_;
  TimelineView* timeline_;
  QTableView* table_;
  QLabel* why_label_;
  ComparisonModel* comparison_model_;
  QSortFilterProxyModel* proxy_;
  RankWorkModel* rank_model_;
  ExecutePanel* execute_;
  SweepView* sweep_;
  BatchView* batch_;
  QWidget* view_boxes_[5] = {};
  QProgressBar* busy_bar_;
  QLabel* busy_label_;
  QTimer* busy_timer_;
  std::unique_ptr<QElapsedTimer> busy_clock_;
};

}  // namespace cpsim::gui
