// Rows of the per-rank table.
#include "gui/models/rank_work_model.h"

#include <QLocale>
#include <algorithm>

namespace cpsim::gui {

RankWorkModel::RankWorkModel(QObject* parent) : QAbstractTableModel(parent) {}

void RankWorkModel::set_plan(const Plan& plan, const Simulation& sim) {
  beginResetModel();
  rows_.clear();
  const double total = static_cast<double>(plan.work.total_pairs());
  for (std::int64_t r = 0; r < plan.world_size; ++r) {
    Row row;
    row.pairs = plan.work.rank_pairs(r);
    row.share = total > 0 ? static_cast<double>(row.pairs) / total : 0;
    row.full = plan.work.rank_tiles(r).full;
    row.partial = plan.work.rank_tiles(r).partial;
    const auto& rm = sim.metrics.ranks.at(static_cast<std::size_t>(r));
    row.busy_us = rm.busy_us;
    row.idle_us = rm.idle_us;
    row.exposed_us = rm.exposed_comm_us;
    rows_.push_back(row);
  }
  endResetModel();
}

void RankWorkModel::clear() {
  beginResetModel();
  rows_.clear();
  comparability_ = {};
  endResetModel();
}

// Measured compute against the prediction of the same passes: forward, plus backward when the run made it and
// the plan predicted it. Without a per-pass prediction the simulated busy time stands in.
void RankWorkModel::set_measurement(const std::optional<Measurement>& m) {
  for (auto& row : rows_) row.measured_us.reset();
  comparability_ = m ? comparable_with_prediction(*m) : Comparability{};
  if (m) {
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      const auto rank = static_cast<std::int64_t>(r);
      const auto forward = predicted_rank_us(m->predicted, "forward_compute_us", rank);
      const auto backward = predicted_rank_us(m->predicted, "backward_compute_us", rank);
      const bool with_backward = m->backward.ran && (backward || !forward);
      rows_[r].predicted_us = forward ? *forward + (with_backward ? backward.value_or(0.0) : 0.0) : rows_[r].busy_us;
      const bool any = std::any_of(m->steps.begin(), m->steps.end(), [&](const MeasuredStep& s) { return s.rank == rank; });
      if (any) {
        rows_[r].measured_us = rank_totals(m->steps, rank).compute_us +
                               (with_backward ? rank_totals(m->backward.steps, rank).compute_us : 0.0);
      }
    }
  }
  if (!rows_.empty()) emit dataChanged(index(0, kMeasuredMs), index(rowCount() - 1, kErrorPct));
}

int RankWorkModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }
int RankWorkModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumns; }

QVariant RankWorkModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= kColumns) return {};
  const Row& r = rows_[static_cast<std::size_t>(index.row())];
  if (role == Qt::TextAlignmentRole) return static_cast<int>(Qt::AlignRight | Qt::AlignVCenter);
  if (role != Qt::DisplayRole && role != Qt::UserRole) return {};
  const bool raw = role == Qt::UserRole;
  switch (index.column()) {
    case kRank: return index.row();
    case kPairs: return raw ? QVariant(static_cast<qlonglong>(r.pairs)) : QVariant(QLocale().toString(static_cast<qlonglong>(r.pairs)));
    case kShare: return raw ? QVariant(r.share) : QVariant(QString::number(100.0 * r.share, 'f', 1) + "%");
    case kFullTiles: return static_cast<qlonglong>(r.full);
    case kPartialTiles: return static_cast<qlonglong>(r.partial);
    case kBusyMs: return raw ? QVariant(r.busy_us) : QVariant(QString::number(r.busy_us / 1000.0, 'f', 3));
    case kIdleMs: return raw ? QVariant(r.idle_us) : QVariant(QString::number(r.idle_us / 1000.0, 'f', 3));
    case kExposedMs: return raw ? QVariant(r.exposed_us) : QVariant(QString::number(r.exposed_us / 1000.0, 'f', 3));
    case kMeasuredMs:
      if (!r.measured_us) return raw ? QVariant() : QVariant("-");
      return raw ? QVariant(*r.measured_us) : QVariant(QString::number(*r.measured_us / 1000.0, 'f', 3));
    case kErrorPct: {
      if (!r.measured_us || r.predicted_us <= 0 || !comparability_.comparable) return raw ? QVariant() : QVariant("-");
      const double pct = 100.0 * (*r.measured_us - r.predicted_us) / r.predicted_us;
      return raw ? QVariant(pct) : QVariant(QString::number(pct, 'f', 1) + "%");
    }
  }
  return {};
}

QVariant RankWorkModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
  static const char* const kNames[kColumns] = {"rank", "pairs", "share", "full tiles", "partial tiles", "busy ms",
                                               "idle ms", "exposed comm ms", "measured ms", "error"};
  return section >= 0 && section < kColumns ? QString(kNames[section]) : QVariant();
}

}  // namespace cpsim::gui
