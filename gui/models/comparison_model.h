// Table model of a comparison: every (balancer, path/rotate) combination, the valid ones ranked by
// predicted step time, then those that cannot run with their reason. Every column has a value in every row. Sorting goes through
// QSortFilterProxyModel on Qt::UserRole (numbers), so every column sorts as a number where it is one.
#pragma once

#include <QAbstractTableModel>

#include "sim/compare.h"

namespace cpsim::gui {

class ComparisonModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  // kStrategy is the path/rotate (with Ulysses) without its kernel, which has a column of its own; kRuntime is who
  // can run it (pytorch, cpsim or simulated); kNote says best / tie / why it cannot run, else how to run it.
  enum Column {
    kRank, kBalancer, kStrategy, kKernel, kRuntime, kStepMs, kVsBest, kLowerBound, kImbalance, kExposedMs, kMemoryGiB, kNote, kColumns
  };

  explicit ComparisonModel(QObject* parent = nullptr);
  void set_comparison(const Comparison& comparison);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // The candidate behind a source row (valid ones first).
  const Candidate& candidate(int row) const;
  int row_of(const Strategy& strategy) const;  // -1 when absent
  bool valid_row(int row) const { return row >= 0 && static_cast<std::size_t>(row) < valid_; }

 private:
  std::vector<Candidate> rows_;
  std::size_t valid_ = 0;
  double best_us_ = 0;
};

}  // namespace cpsim::gui
