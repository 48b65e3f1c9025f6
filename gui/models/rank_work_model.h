// Table model of one plan's per-rank work and predicted times, with measured times once an execution
// has been loaded: pairs, full/partial tiles, busy/idle/exposed communication, and measured compute.
#pragma once

#include <QAbstractTableModel>
#include <optional>

#include "core/measurement.h"
#include "core/plan.h"
#include "sim/simulate.h"

namespace cpsim::gui {

class RankWorkModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { kRank, kPairs, kShare, kFullTiles, kPartialTiles, kBusyMs, kIdleMs, kExposedMs, kMeasuredMs, kErrorPct, kColumns };

  explicit RankWorkModel(QObject* parent = nullptr);
  void set_plan(const Plan& plan, const Simulation& simulation);
  void clear();  // no plan: no rows
  // Measured compute beside the prediction; the error column only where the two are comparable (the same kind
  // of device: core/measurement.h's rule), else "-".
  void set_measurement(const std::optional<Measurement>& measurement);
  const Comparability& comparability() const { return comparability_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  struct Row {
    std::int64_t pairs = 0, full = 0, partial = 0;
    double share = 0, busy_us = 0, idle_us = 0, exposed_us = 0;
    std::optional<double> measured_us;  // compute of the passes the run made
    double predicted_us = 0;            // the prediction of those same passes, for the error column
  };
  std::vector<Row> rows_;
  Comparability comparability_;
};

}  // namespace cpsim::gui
