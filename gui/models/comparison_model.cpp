// Display, sort and highlight rules of the comparison table.
#include "gui/models/comparison_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>

namespace cpsim::gui {
namespace {

Strategy without_kernel(Strategy s) {
  s.kernel.clear();
  return s;
}

}  // namespace

ComparisonModel::ComparisonModel(QObject* parent) : QAbstractTableModel(parent) {}

void ComparisonModel::set_comparison(const Comparison& c) {
  beginResetModel();
  rows_ = c.ranked;
  valid_ = c.ranked.size();
  rows_.insert(rows_.end(), c.invalid.begin(), c.invalid.end());
  best_us_ = c.ranked.empty() ? 0 : c.ranked.front().metrics.step_us;
  endResetModel();
}

int ComparisonModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }
int ComparisonModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumns; }

const Candidate& ComparisonModel::candidate(int row) const { return rows_.at(static_cast<std::size_t>(row)); }

int ComparisonModel::row_of(const Strategy& s) const {
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i].strategy == s) return static_cast<int>(i);
  }
  return -1;
}

QVariant ComparisonModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= kColumns) return {};
  const Candidate& c = rows_[static_cast<std::size_t>(index.row())];
  const Metrics& m = c.metrics;
  const bool valid = static_cast<std::size_t>(index.row()) < valid_;
  const bool best = index.row() == 0 && valid;
  if (role == Qt::UserRole) {  // sort key
    switch (index.column()) {
      case kRank: return valid ? index.row() + 1 : 1000000 + index.row();
      case kBalancer: return QString::fromStdString(c.strategy.balancer);
      case kStrategy: return QString::fromStdString(path_text(without_kernel(c.strategy)));
      case kKernel: return QString::fromStdString(c.strategy.kernel);
      case kRuntime: return static_cast<int>(c.runtime.runtime);
      case kStepMs: return valid ? m.step_us : 1e300;
      case kVsBest: return valid && best_us_ > 0 ? m.step_us / best_us_ : 1e300;
      case kLowerBound: return valid ? m.ratio_to_lower_bound : 1e300;
      case kImbalance: return valid ? m.compute_imbalance : 1e300;
      case kExposedMs: return valid ? m.max_exposed_comm_us : 1e300;
      case kMemoryGiB: return valid ? m.peak_memory_bytes : 1e300;
      case kNote: return QString::fromStdString(c.reason);
    }
  }
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case kRank: return valid ? QString::number(index.row() + 1) : QString("-");
      case kBalancer:  // pure Ulysses attends over the whole sequence: no layout to name
        return c.strategy.pure_ulysses ? QString("-") : QString::fromStdString(c.strategy.balancer);
      case kStrategy: return QString::fromStdString(path_text(without_kernel(c.strategy)));
      case kKernel: return c.strategy.kernel.empty() ? QString("-") : QString::fromStdString(c.strategy.kernel);
      case kRuntime: return QString::fromStdString(std::string(runtime_name(c.runtime.runtime)));
      case kNote:  // a tie: within the profile's model error of #1 (compare's "≈"); otherwise how to run it
        if (!valid) return QString::fromStdString(c.reason);
        return (best ? QString("best; ") : c.tie ? QString("tie: within model error of #1; ") : QString()) + QString::fromStdString(c.runtime.how);
      default: break;
    }
    if (!valid) return QString("-");
    switch (index.column()) {
      case kStepMs: return QString::number(m.step_us / 1000.0, 'f', 3);
      case kVsBest: return QString::number(best_us_ > 0 ? m.step_us / best_us_ : 0.0, 'f', 2) + "x" + (c.tie ? " \u2248" : "");
      case kLowerBound: return QString::number(m.ratio_to_lower_bound, 'f', 2);
      case kImbalance: return QString::number(m.compute_imbalance, 'f', 3);
      case kExposedMs: return QString::number(m.max_exposed_comm_us / 1000.0, 'f', 3);
      case kMemoryGiB: return QString::number(m.peak_memory_bytes / (1024.0 * 1024.0 * 1024.0), 'f', 2);
    }
  }
  if (role == Qt::ToolTipRole) {
    if (!valid) return QString::fromStdString(c.reason);
    return QString::fromStdString(strategy_text(c.strategy) + "\n" + std::string(runtime_name(c.runtime.runtime)) + ": " + c.runtime.how);
  }
  if (role == Qt::ForegroundRole && !valid) return QBrush(QColor(140, 140, 140));
  if (role == Qt::BackgroundRole && best) return QBrush(QColor(214, 240, 214));
  if (role == Qt::BackgroundRole && c.tie) return QBrush(QColor(234, 246, 234));
  if (role == Qt::FontRole && best) {
    QFont f;
    f.setBold(true);
    return f;
  }
  if (role == Qt::TextAlignmentRole && index.column() >= kStepMs && index.column() <= kMemoryGiB) {
    return static_cast<int>(Qt::AlignRight | Qt::AlignVCenter);
  }
  return {};
}

QVariant ComparisonModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
  static const char* const kNames[kColumns] = {"#",       "balancer",      "path / rotate", "kernel",          "runs on",    "step ms",
                                               "vs best", "x lower bound", "imbalance",     "exposed comm ms", "memory GiB", "note"};
  return section >= 0 && section < kColumns ? QString(kNames[section]) : QVariant();
}

}  // namespace cpsim::gui
