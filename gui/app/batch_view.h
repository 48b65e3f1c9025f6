// The batch tab: a `cpsim batch --out-dir` folder read back (results/line-*.json through dataset/'s reader): the
// distribution of the chosen plans' step times (histogram) and of their speed-ups over the best PyTorch-native
// plan (CDF), the report's summary, and one table row per line; double-clicking a line opens its workload.
#pragma once

#include <QWidget>
#include <vector>

#include "dataset/batch_run.h"

class QChartView;
class QLabel;
class QTableWidget;

namespace cpsim::gui {

class BatchView : public QWidget {
  Q_OBJECT

 public:
  explicit BatchView(QWidget* parent = nullptr);
  // Reads DIR/results/*.json (and DIR/batch.json for the settings); false with the error shown.
  bool open_folder(const QString& dir);
  void open_dialog();
  const std::vector<BatchResult>& results() const { return results_; }
  QString message() const;
  // Line i of the table (0-based) opened: its plan's workload (plans/line-N.json), else line N of the source JSONL, with
  // the settings the batch ran with (batch.json), so the plan tab shows the line as the batch planned it.
  bool open_line(int row);

 signals:
  // world_size 0 and an empty hardware: the folder does not say (an older batch.json).
  void workload_chosen(const cpsim::Workload& workload, const QString& source, int world_size, const QString& hardware, bool backward);

 private:
  void show_results();
  QString dir_;
  std::vector<BatchResult> results_;
  QLabel* status_;
  QChartView *histogram_, *cdf_;
  QTableWidget* table_;
};

}  // namespace cpsim::gui
