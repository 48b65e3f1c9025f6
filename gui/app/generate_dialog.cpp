// The generator form.
#include "gui/app/generate_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSpinBox>

namespace cpsim::gui {
namespace {

QSpinBox* spin(int lo, int hi, int value) {
  auto* s = new QSpinBox;
  s->setRange(lo, hi);
  s->setValue(value);
  return s;
}

QDoubleSpinBox* dspin(double lo, double hi, double value, int decimals) {
  auto* s = new QDoubleSpinBox;
  s->setRange(lo, hi);
  s->setDecimals(decimals);
  s->setValue(value);
  return s;
}

}  // namespace

GenerateDialog::GenerateDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle("Generate a workload");
  auto* form = new QFormLayout(this);
  form->addRow("tokens per row (seq_len)", seq_len_ = spin(1, 1 << 30, 131072));
  form->addRow("batch rows", rows_ = spin(1, 64, 1));
  dist_ = new QComboBox;
  dist_->addItems({"lognormal", "pareto", "uniform", "fixed"});
  form->addRow("document lengths", dist_);
  form->addRow("lognormal: mean tokens", mean_ = dspin(1, 1e9, 4096, 0));
  form->addRow("lognormal: sigma of log", sigma_ = dspin(0, 10, 1.2, 2));
  form->addRow("pareto: alpha", alpha_ = dspin(0.01, 10, 1.2, 2));
  form->addRow("fixed: length", length_ = spin(1, 1 << 30, 4096));
  form->addRow("shortest (uniform low, pareto scale)", min_len_ = spin(1, 1 << 30, 64));
  form->addRow("longest (0: seq_len)", max_len_ = spin(0, 1 << 30, 0));
  form->addRow("round to a multiple of", multiple_ = spin(1, 1 << 20, 16));
  form->addRow("seed", seed_ = spin(0, 1 << 30, 7));
  mask_ = new QComboBox;
  for (const MaskKind k : all_mask_kinds()) mask_->addItem(QString::fromStdString(std::string(mask_kind_name(k))));
  mask_->setCurrentText("document_causal");
  form->addRow("mask", mask_);
  form->addRow("window (sliding kinds)", window_ = spin(1, 1 << 30, 4096));
  form->addRow("prefix (prefix_lm)", prefix_ = spin(0, 1 << 30, 8192));
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  form->addRow(buttons);
}

GeneratorSpec GenerateDialog::spec() const {
  GeneratorSpec s;
  s.seq_len = seq_len_->value();
  s.rows = rows_->value();
  s.distribution = parse_length_distribution(dist_->currentText().toStdString()).value_or(LengthDistribution::kLognormal);
  s.length = length_->value();
  s.min_len = min_len_->value();
  s.max_len = max_len_->value();
  s.mean = mean_->value();
  s.sigma = sigma_->value();
  s.alpha = alpha_->value();
  s.multiple_of = multiple_->value();
  s.seed = static_cast<std::uint64_t>(seed_->value());
  s.mask.kind = parse_mask_kind(mask_->currentText().toStdString()).value_or(MaskKind::kDocumentCausal);
  s.mask.window = window_->value();
  s.mask.prefix = prefix_->value();
  return s;
}

}  // namespace cpsim::gui
