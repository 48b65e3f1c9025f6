// What the GUI test files share: a small planner input, waiting for the window's plan, the check that every view
// shows the selected plan, and how much of an image is not one colour.
#pragma once

#include <QAbstractItemModelTester>
#include <QImage>
#include <QProcess>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTemporaryDir>
#include <QtTest>

#include <QMenuBar>
#include <QTabWidget>
#include <QTableView>
#include <cmath>

#include "core/test_util.h"
#include "gui/app/execute_panel.h"
#include "gui/app/main_window.h"
#include "gui/app/batch_view.h"
#include "gui/app/mask_view.h"
#include "gui/app/planner.h"
#include "gui/app/sweep_view.h"
#include "gui/app/timeline_view.h"
#include "gui/app/work_chart.h"
#include "dataset/batch_run.h"
#include "sim/strategy_rules.h"
#include "gui/models/comparison_model.h"
#include "gui/models/mask_raster.h"
#include "gui/models/rank_work_model.h"

namespace cpsim::gui::testing_support {

using namespace cpsim;
using namespace cpsim::gui;

inline PlannerInputs small_inputs(std::int64_t world = 4) {
  PlannerInputs in;
  in.workload = testing::make_workload(4096, MaskKind::kDocumentCausal, {{512, 1024, 256, 2304}});
  in.workload.model.q_heads = 4;
  in.workload.model.kv_heads = 2;
  in.workload.model.head_dim = 32;
  in.source = "test.json";
  in.world_size = world;
  in.hardware = std::string(CPSIM_SOURCE_DIR) + "/data/hardware/h100-sxm-8x.json";
  return in;
}

// Waits for the window's plan (or its error) to arrive.
inline bool wait_for_plan(MainWindow& window) {
  QElapsedTimer timer;
  timer.start();
  QTest::qWait(1);
  while (timer.elapsed() < 30000) {
    if (!window.planning() && (window.snapshot() || !window.last_error().isEmpty())) return window.snapshot() != nullptr;
    QTest::qWait(5);
  }
  return false;
}

// The rule of issue 18: the table's selection, every view, the execute panel and the status bar show one plan.
inline void check_views_follow_selection(const MainWindow& window, std::int64_t world_size) {
  const auto snap = window.snapshot();
  QVERIFY(snap);
  QCOMPARE(snap->inputs.world_size, world_size);
  const auto selected = window.table_selection();
  QVERIFY2(selected.has_value(), "the table selects a row");
  QVERIFY2(*selected == snap->selection, strategy_text(*selected).c_str());
  QVERIFY(window.mask_view()->snapshot() == snap);
  QVERIFY(window.work_chart()->snapshot() == snap);
  QVERIFY(window.timeline()->snapshot() == snap);
  QVERIFY(snap->simulation.strategy == snap->selection);
  QVERIFY2(window.status_text().contains(QString::fromStdString(strategy_text(snap->selection))) ||
               window.status_text().contains("you picked"),
           qPrintable(window.status_text()));
}

// Fraction of pixels that differ from the most common colour.
inline double non_uniform_share(const QImage& image) {
  QHash<QRgb, int> counts;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = 0; x < image.width(); ++x) ++counts[image.pixel(x, y)];
  }
  int top = 0;
  for (const int c : counts) top = std::max(top, c);
  return 1.0 - static_cast<double>(top) / (image.width() * image.height());
}

}  // namespace cpsim::gui::testing_support
