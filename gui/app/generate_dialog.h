// Generate a workload: seq_len, document-length distribution and its parameters, seed, mask kind and its
// window or prefix, model shape.
#pragma once

#include <QDialog>

#include "core/generator.h"

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace cpsim::gui {

class GenerateDialog : public QDialog {
  Q_OBJECT

 public:
  explicit GenerateDialog(QWidget* parent = nullptr);
  GeneratorSpec spec() const;

 private:
  QSpinBox *seq_len_, *rows_, *length_, *min_len_, *max_len_, *multiple_, *seed_, *window_, *prefix_;
  QDoubleSpinBox *mean_, *sigma_, *alpha_;
  QComboBox *dist_, *mask_;
};

}  // namespace cpsim::gui
