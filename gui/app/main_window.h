// The main window: inputs on the left; the mask, per-rank work, timeline and comparison views in a grid
// (one can be shown alone); the execute panel below. Every view follows the plan selected in the
// comparison table.
#pragma once

#include <QMainWindow>
#include <memory>

#include "gui/app/planner.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QSortFilterProxyModel;
class QSpinBox;
class QTableView;

namespace cpsim::gui {

class ComparisonModel;
class ExecutePanel;
class MaskView;
class RankWorkModel;
class TimelineView;
class WorkChart;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  // Loads a workload file; problems are shown in the window, never fatal.
  bool open_workload(const QString& path);
  void set_workload(const Workload& workload, const QString& source);
  void set_world_size(int world_size);
  std::shared_ptr<const Snapshot> snapshot() const { return snap_; }
  bool planning() const;
  QString last_error() const { return last_error_; }
  // The four views, for screenshots: mask, work, timeline, comparison.
  std::vector<std::pair<QString, QWidget*>> views() const;
  QTableView* comparison_table() const { return table_; }
  // What Export plan writes: the selected row's plan, its strategy and prediction.
  Status save_plan_to(const QString& path) const;

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void build_ui();
  void build_menus();
  void replan();
  void apply(std::shared_ptr<const Snapshot> snapshot);
  void show_error(const QString& message);
  void show_only(int view);  // -1: all
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
  QString last_error_;

  QLabel* file_label_;
  QLabel* status_label_;
  QSpinBox *world_size_, *q_heads_, *kv_heads_, *head_dim_;
  QComboBox *hardware_, *order_, *stack_;
  QCheckBox* backward_;
  MaskView* mask_view_;
  WorkChart* work_chart_;
  TimelineView* timeline_;
  QTableView* table_;
  ComparisonModel* comparison_model_;
  QSortFilterProxyModel* proxy_;
  RankWorkModel* rank_model_;
  ExecutePanel* execute_;
  QWidget* view_boxes_[4] = {};
};

}  // namespace cpsim::gui
