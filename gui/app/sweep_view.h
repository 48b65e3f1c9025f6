// The sweep tab: the CP degree question for the current inputs, from sim/sweep.h: step time, tokens/s per GPU
// and memory per GPU against W (powers of two the profile can hold), for the best plan and the best PyTorch can
// run. Computed in the background when the tab is shown after a change; clicking a W (chart or table) loads it.
#pragma once

#include <QWidget>
#include <atomic>
#include <memory>
#include <optional>

#include "gui/app/planner.h"
#include "sim/sweep.h"

class QChartView;
class QLabel;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace cpsim::gui {

class SweepView : public QWidget {
  Q_OBJECT

 public:
  explicit SweepView(QWidget* parent = nullptr);
  // The inputs the sweep is for; a sweep for older inputs is dropped.
  void set_inputs(const PlannerInputs& inputs);
  bool busy() const { return running_ > 0; }
  const std::optional<Sweep>& sweep() const { return sweep_; }
  QString message() const;
  // The W values a sweep tries for these inputs: powers of two up to the profile's GPUs (and at most 128), and W.
  static std::vector<std::int64_t> world_sizes_for(const PlannerInputs& inputs, std::int64_t max_gpus);

 public slots:
  void run();
  // A click on the charts at x = W (log2 axis): the nearest swept W.
  void choose_near(double world_size);

 signals:
  void world_size_chosen(int world_size);
  void finished();

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  void show_sweep();
  std::optional<PlannerInputs> inputs_;
  bool stale_ = true;
  std::optional<Sweep> sweep_;
  std::atomic<std::uint64_t> generation_{0};
  int running_ = 0;
  QPushButton* run_;
  QProgressBar* busy_;
  QLabel* status_;
  QChartView *time_, *throughput_, *memory_;
  QTableWidget* table_;
};

}  // namespace cpsim::gui
