// GUI tests, headless (QT_QPA_PLATFORM=offscreen): item models under QAbstractItemModelTester, the mask
// raster against the mask definition, stale-job cancellation, execution through QProcess (and cancel), the
// state rule (views follow the table's selection after every change; invalid input blanks them), single-view
// mode, zoom and pan, hardware files, the sweep and batch tabs, and the --screenshot mode.
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

using namespace cpsim;
using namespace cpsim::gui;

namespace {

PlannerInputs small_inputs(std::int64_t world = 4) {
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
bool wait_for_plan(MainWindow& window) {
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
void check_views_follow_selection(const MainWindow& window, std::int64_t world_size) {
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
double non_uniform_share(const QImage& image) {
  QHash<QRgb, int> counts;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = 0; x < image.width(); ++x) ++counts[image.pixel(x, y)];
  }
  int top = 0;
  for (const int c : counts) top = std::max(top, c);
  return 1.0 - static_cast<double>(top) / (image.width() * image.height());
}

}  // namespace

class GuiTest : public QObject {
  Q_OBJECT

 private slots:
  void comparison_model_is_a_valid_sortable_model() {
    auto snap = plan_snapshot(small_inputs(), std::nullopt, nullptr);
    QVERIFY2(snap.ok(), snap.ok() ? "" : snap.error().message.c_str());
    ComparisonModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.set_comparison((*snap)->comparison);
    // W = 4 with 2 kv heads: every (balancer, strategy, kernel) plain and as the ring of a Ulysses-2 hybrid, plus
    // pure Ulysses (which cannot run: 4 ranks do not divide 2 kv heads).
    const HardwareProfile hw = find_hardware_profile("h100-sxm-8x").value();
    std::size_t per_balancer = 0;
    for (const Strategy& s : ring_strategies("ptrr")) per_balancer += path_kernels(hw, s.path).size();
    const int combinations = static_cast<int>(balancer_registry().size() * per_balancer * 2 + 1);
    QCOMPARE(model.rowCount(), combinations);
    QVERIFY(model.data(model.index(0, ComparisonModel::kNote)).toString().startsWith("best"));
    // No empty column: every cell of every row says something (a runtime, a kernel, a reason, how to run it).
    for (int row = 0; row < model.rowCount(); ++row) {
      for (int column = 0; column < ComparisonModel::kColumns; ++column) {
        QVERIFY2(!model.data(model.index(row, column)).toString().isEmpty(), qPrintable(QString("row %1 column %2").arg(row).arg(column)));
      }
      const QString runtime = model.data(model.index(row, ComparisonModel::kRuntime)).toString();
      QVERIFY2(runtime == "pytorch" || runtime == "cpsim" || runtime == "simulated", qPrintable(runtime));
    }
    QCOMPARE(model.data(model.index(0, ComparisonModel::kKernel)).toString(),
             QString::fromStdString((*snap)->comparison.ranked.front().strategy.kernel));
    QSortFilterProxyModel proxy;
    QAbstractItemModelTester proxy_tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.setSourceModel(&model);
    proxy.setSortRole(Qt::UserRole);
    proxy.sort(ComparisonModel::kStepMs, Qt::DescendingOrder);
    // Descending by step time: invalid rows (sort key 1e300) first, then the slowest valid one.
    const int valid = static_cast<int>((*snap)->comparison.ranked.size());
    const int slowest = proxy.mapToSource(proxy.index(combinations - valid, 0)).row();
    QCOMPARE(slowest, valid - 1);
    QVERIFY(model.row_of((*snap)->selection) == 0);
  }

  void rank_work_model_reports_plan_and_measurement() {
    auto snap = plan_snapshot(small_inputs(), std::nullopt, nullptr);
    QVERIFY(snap.ok());
    RankWorkModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.set_plan((*snap)->plan, (*snap)->simulation);
    QCOMPARE(model.rowCount(), 4);
    qlonglong pairs = 0;
    for (int r = 0; r < 4; ++r) pairs += model.data(model.index(r, RankWorkModel::kPairs), Qt::UserRole).toLongLong();
    QCOMPARE(pairs, static_cast<qlonglong>((*snap)->plan.work.total_pairs()));
    Measurement m;
    for (int r = 0; r < 4; ++r) m.steps.push_back({r, 0, 1000.0 * (r + 1), 0, 0, 0, 0, 0});
    model.set_measurement(m);
    QCOMPARE(model.data(model.index(2, RankWorkModel::kMeasuredMs)).toString(), QString("3.000"));
    QCOMPARE(model.data(model.index(2, RankWorkModel::kErrorPct)).toString(), QString("-"));  // nothing to compare with
    // A CPU run against an H100 prediction: both shown, but no error column (it read 320611% once).
    m.predicted = Json::parse(R"({"device_kind": "gpu", "forward_compute_us": [[1], [1], [1], [1]]})");
    model.set_measurement(m);
    QCOMPARE(model.data(model.index(2, RankWorkModel::kMeasuredMs)).toString(), QString("3.000"));
    QCOMPARE(model.data(model.index(2, RankWorkModel::kErrorPct)).toString(), QString("-"));
    QVERIFY(!model.comparability().comparable);
    // A run with backward against a plan that predicted both passes: measured and predicted both cover
    // forward + backward (rank 2: 3 + 6 ms measured against 2 + 4 ms predicted: +50%).
    m.backward.ran = true;
    for (int r = 0; r < 4; ++r) m.backward.steps.push_back({r, 0, 2000.0 * (r + 1), 0, 0, 0, 0, 0});
    m.predicted = Json::parse(R"({"device_kind": "cpu", "forward_compute_us": [[1000], [1000], [2000], [1000]],
                                  "backward_compute_us": [[3000], [3000], [4000], [3000]]})");
    model.set_measurement(m);
    QCOMPARE(model.data(model.index(2, RankWorkModel::kMeasuredMs)).toString(), QString("9.000"));
    QCOMPARE(model.data(model.index(2, RankWorkModel::kErrorPct)).toString(), QString("50.0%"));
    // The plan predicted the forward pass only: the backward measurement is left out of the comparison.
    m.predicted.erase("backward_compute_us");
    model.set_measurement(m);
    QCOMPARE(model.data(model.index(2, RankWorkModel::kMeasuredMs)).toString(), QString("3.000"));
    QCOMPARE(model.data(model.index(2, RankWorkModel::kErrorPct)).toString(), QString("50.0%"));
  }

  void mask_raster_matches_the_mask_definition() {
    const Workload w = testing::make_workload(512, MaskKind::kDocumentSlidingWindow, {{96, 160, 64, 192}}, 40);
    for (const char* balancer : {"contiguous", "head_tail", "per_document_head_tail", "ptrr"}) {
      auto plan = make_plan(w, "t.json", balancer, 4, 16);
      QVERIFY(plan.ok());
      const auto doc_of = testing::document_ids(w.documents[0]);
      for (const bool rearranged : {false, true}) {
        const MaskRaster r = make_mask_raster(*plan, 0, 16, rearranged);  // 32 tokens per cell
        QCOMPARE(r.cells, 16);
        for (int qc = 0; qc < r.cells; ++qc) {
          for (int kc = 0; kc < r.cells; ++kc) {
            bool any = false;
            for (int i = 0; i < 32 && !any; ++i) {
              for (int j = 0; j < 32 && !any; ++j) {
                const std::int64_t qs = qc * 32 + i, ks = kc * 32 + j;
                const std::int64_t q = rearranged ? plan->layouts[0].rearrange()[static_cast<std::size_t>(qs)] : qs;
                const std::int64_t k = rearranged ? plan->layouts[0].rearrange()[static_cast<std::size_t>(ks)] : ks;
                any = testing::visible(w, doc_of, q, k);
              }
            }
            QCOMPARE(r.at(qc, kc) >= 0, any);
            if (any) {
              const CellInfo info = describe_cell(*plan, r, qc, kc);
              QVERIFY(info.pairs > 0);
            }
          }
        }
      }
    }
  }

  void a_newer_request_makes_the_older_one_stale() {
    Planner planner;
    QSignalSpy ready(&planner, &Planner::ready);
    planner.request(small_inputs(4));
    planner.request(small_inputs(8));
    QTRY_VERIFY_WITH_TIMEOUT(!planner.busy(), 30000);
    QCOMPARE(ready.count(), 1);
    const auto snap = ready.at(0).at(0).value<std::shared_ptr<const Snapshot>>();
    QCOMPARE(snap->inputs.world_size, std::int64_t{8});
  }

  void execute_runs_cpsim_and_cancel_stops_it() {
    qputenv("CPSIM_BINARY", CPSIM_BINARY);
    auto snap = plan_snapshot(small_inputs(), std::nullopt, nullptr);
    QVERIFY(snap.ok());
    RankWorkModel model;
    ExecutePanel panel(&model);
    panel.set_snapshot(*snap);
    QSignalSpy finished(&panel, &ExecutePanel::run_finished);
    panel.start();
    QVERIFY(panel.running());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(panel.status_text()));  // verified
    QVERIFY(model.data(model.index(0, RankWorkModel::kMeasuredMs)).toString() != "-");
    QVERIFY2(!panel.status_text().contains("(rank, step) done"), "progress lines drive the bar, not the log");
    QVERIFY(!panel.status_text().contains("backward"));
    // With the backward box checked the run checks dQ/dK/dV too.
    panel.set_backward(true);
    panel.start();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
    QVERIFY2(finished.at(1).at(0).toBool(), qPrintable(panel.status_text()));
    QVERIFY2(panel.status_text().contains("backward VERIFIED, dQ/dK/dV max abs error"), qPrintable(panel.status_text()));
    panel.set_backward(false);
    // Cancel: a stalled rank keeps the run alive until we kill it.
    qputenv("CPSIM_FAULTS", "stall-rank=1:20000");
    panel.start();
    QVERIFY(panel.running());
    panel.cancel();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, 60000);
    QCOMPARE(finished.at(2).at(0).toBool(), false);
    QVERIFY(!panel.running());
    qunsetenv("CPSIM_FAULTS");
  }

  // Selecting a Ulysses x ring row makes it the plan every view follows, and Export plan writes that plan: W / U
  // ranks, the whole strategy, and a prediction that simulating the reloaded plan reproduces.
  void a_ulysses_row_can_be_selected_and_exported() {
    MainWindow window;
    const PlannerInputs in = small_inputs(4);
    window.set_world_size(4);
    window.set_workload(in.workload, "test.json");
    QTRY_VERIFY_WITH_TIMEOUT(!window.planning() && window.snapshot(), 30000);
    QTableView* table = window.comparison_table();
    auto* proxy = qobject_cast<QSortFilterProxyModel*>(table->model());
    auto* source = qobject_cast<ComparisonModel*>(proxy->sourceModel());
    int pick = -1;
    Strategy wanted;
    for (int row = 0; row < proxy->rowCount() && pick < 0; ++row) {
      const Candidate& c = source->candidate(proxy->mapToSource(proxy->index(row, 0)).row());
      if (c.valid && c.strategy.ulysses == 2 && !c.strategy.pure_ulysses && !(c.strategy == window.snapshot()->selection)) {
        pick = row;
        wanted = c.strategy;
      }
    }
    QVERIFY2(pick >= 0, "the comparison has a Ulysses x ring row");
    table->setCurrentIndex(proxy->index(pick, 0));
    QTRY_VERIFY_WITH_TIMEOUT(!window.planning() && window.snapshot()->selection == wanted, 30000);
    const auto snap = window.snapshot();
    QCOMPARE(snap->plan.world_size, std::int64_t{2});  // the ring of Ulysses 2 x ring 2
    QTemporaryDir dir;
    const QString path = dir.filePath("ulysses.json");
    QVERIFY(window.save_plan_to(path).ok());
    auto back = load_plan(path.toStdString());
    QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
    QVERIFY(back->strategy.has_value());
    QVERIFY(*back->strategy == wanted);
    QCOMPARE(back->world_size, std::int64_t{2});
    auto again = simulate(*back, *back->strategy, snap->profile, false);
    QVERIFY(again.ok());
    QCOMPARE(again->metrics.step_us, back->predicted["step_us"].get<double>());
    QCOMPARE(again->metrics.step_us, snap->simulation.metrics.step_us);
  }

  // --- State: every view shows the plan the table selects, after every kind of change (issue 18). ---

  void views_follow_the_new_winner_after_w_hardware_shape_and_backward_change() {
    MainWindow window;
    window.set_hardware("h100-sxm-8x");
    window.set_backward(false);
    window.set_world_size(4);
    window.set_workload(small_inputs(4).workload, "test.json");
    QVERIFY(wait_for_plan(window));
    check_views_follow_selection(window, 4);
    // W: the winner at the new W, in every view and in the status bar.
    window.set_world_size(8);
    QVERIFY(wait_for_plan(window));
    check_views_follow_selection(window, 8);
    QVERIFY(window.snapshot()->selection == window.snapshot()->comparison.ranked.front().strategy);
    // Hardware.
    window.set_hardware("h200-sxm-8x");
    QVERIFY(wait_for_plan(window));
    check_views_follow_selection(window, 8);
    QCOMPARE(window.snapshot()->inputs.hardware, std::string("h200-sxm-8x"));
    // Model shape.
    window.set_model_shape(8, 4, 64);
    QVERIFY(wait_for_plan(window));
    check_views_follow_selection(window, 8);
    QCOMPARE(window.snapshot()->inputs.workload.model.q_heads, std::int64_t{8});
    // Backward.
    window.set_backward(true);
    QVERIFY(wait_for_plan(window));
    check_views_follow_selection(window, 8);
    QVERIFY(window.snapshot()->simulation.backward);
  }

  void a_picked_strategy_is_kept_while_it_can_run_and_row_one_follows_the_winner() {
    MainWindow window;
    window.set_hardware("h100-sxm-8x");
    window.set_world_size(4);
    window.set_workload(small_inputs(4).workload, "test.json");
    QVERIFY(wait_for_plan(window));
    QTableView* table = window.comparison_table();
    auto* proxy = qobject_cast<QSortFilterProxyModel*>(table->model());
    auto* source = qobject_cast<ComparisonModel*>(proxy->sourceModel());
    // Row 3 of the ranking (a valid one that is not the winner).
    const Strategy picked = source->candidate(2).strategy;
    table->setCurrentIndex(proxy->mapFromSource(source->index(2, 0)));
    QTRY_VERIFY_WITH_TIMEOUT(!window.planning() && window.snapshot()->selection == picked, 30000);
    check_views_follow_selection(window, 4);
    QVERIFY(window.why_text().contains("your pick"));
    window.set_world_size(8);
    QVERIFY(wait_for_plan(window));
    check_views_follow_selection(window, 8);
    QVERIFY2(window.snapshot()->selection.with_stages(0) == picked.with_stages(0), "the pick survives a change of W while it can run");
    // Row 1: back to following the winner, also after the next change.
    table->setCurrentIndex(proxy->mapFromSource(source->index(0, 0)));
    QVERIFY(wait_for_plan(window));
    window.set_world_size(4);
    QVERIFY(wait_for_plan(window));
    check_views_follow_selection(window, 4);
    QVERIFY(window.snapshot()->selection == window.snapshot()->comparison.ranked.front().strategy);
  }

  void an_invalid_w_blanks_every_view_with_the_reason_and_the_nearest_w() {
    MainWindow window;
    window.set_hardware("h100-sxm-8x");
    window.set_world_size(4);
    window.set_workload(small_inputs(4).workload, "test.json");
    QVERIFY(wait_for_plan(window));
    window.set_world_size(6);  // 4096 % 6 != 0
    QTRY_VERIFY_WITH_TIMEOUT(!window.planning() && !window.snapshot(), 30000);
    const QString error = window.last_error();
    QVERIFY2(error.contains("W = 6") && error.contains("nearest that work: 4 and 8"), qPrintable(error));
    QVERIFY(!error.contains('\n'));
    QVERIFY(!window.mask_view()->snapshot() && !window.work_chart()->snapshot() && !window.timeline()->snapshot());
    for (const QString& shown : {window.mask_view()->message(), window.work_chart()->message(), window.timeline()->message(), window.why_text()}) {
      QVERIFY2(shown.contains("nearest that work: 4 and 8"), qPrintable(shown));
    }
    QCOMPARE(window.comparison_table()->model()->rowCount(), 0);
    QVERIFY(!window.table_selection());
    // Back to a valid W: everything returns.
    window.set_world_size(8);
    QVERIFY(wait_for_plan(window));
    check_views_follow_selection(window, 8);
  }

  void a_new_workload_clears_the_verified_result() {
    qputenv("CPSIM_BINARY", CPSIM_BINARY);
    MainWindow window;
    window.set_hardware("h100-sxm-8x");
    window.set_world_size(4);
    window.set_workload(small_inputs(4).workload, "test.json");
    QVERIFY(wait_for_plan(window));
    ExecutePanel* panel = window.execute_panel();
    QSignalSpy finished(panel, &ExecutePanel::run_finished);
    panel->start();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QVERIFY2(panel->status_text().contains("VERIFIED"), qPrintable(panel->status_text()));
    QVERIFY(panel->has_measurement());
    // The CPU run against an H100 prediction: no percentage, and the reason with what to pick instead.
    QVERIFY2(panel->status_text().contains("No error column") && panel->status_text().contains("cpu-threads"), qPrintable(panel->status_text()));
    QTemporaryDir dir;
    const QString saved = dir.filePath("my-measurement.json");
    QVERIFY(panel->save_measurement_to(saved).ok());
    QVERIFY(load_measurement(saved.toStdString()).ok());
    // Another workload: the old result is gone at once, before the new plan arrives.
    Workload other = testing::make_workload(2048, MaskKind::kCausal, {{2048}});
    window.set_workload(other, "other.json");
    QVERIFY(!panel->has_measurement());
    QVERIFY(!panel->status_text().contains("VERIFIED"));
    QVERIFY(!window.snapshot());
    QVERIFY(wait_for_plan(window));
    QVERIFY(!panel->has_measurement());
    QVERIFY(!panel->status_text().contains("VERIFIED"));
    QCOMPARE(window.snapshot()->inputs.workload.seq_len, std::int64_t{2048});
    check_views_follow_selection(window, 4);
  }

  // --- Layout and why. ---

  void single_view_mode_fills_the_tab() {
    MainWindow window;
    window.resize(1600, 1000);
    window.set_world_size(4);
    window.set_workload(small_inputs(4).workload, "test.json");
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(wait_for_plan(window));
    const auto views = window.views();
    const QSize tab = window.tabs()->currentWidget()->size();
    for (int i = 0; i < 5; ++i) {
      window.show_only(i);
      QApplication::processEvents();
      QWidget* alone = views[static_cast<std::size_t>(i)].second;
      QVERIFY(alone->isVisible());
      QVERIFY2(alone->width() > 0.95 * tab.width() && alone->height() > 0.9 * tab.height(),
               qPrintable(QString("%1: %2x%3 of %4x%5").arg(views[static_cast<std::size_t>(i)].first).arg(alone->width()).arg(alone->height())
                              .arg(tab.width()).arg(tab.height())));
      for (int j = 0; j < 5; ++j) {
        if (j != i) QVERIFY(!views[static_cast<std::size_t>(j)].second->isVisible());
      }
    }
    window.show_only(-1);
    QApplication::processEvents();
    for (int i = 0; i < 5; ++i) {
      QVERIFY(views[static_cast<std::size_t>(i)].second->isVisible());
      QVERIFY(views[static_cast<std::size_t>(i)].second->width() < 0.95 * tab.width() || i >= 3);
    }
  }

  void why_lines_name_the_winner_and_the_best_pytorch_plan() {
    MainWindow window;
    window.set_world_size(4);
    window.set_workload(small_inputs(4).workload, "test.json");
    QVERIFY(wait_for_plan(window));
    const QString why = window.why_text();
    QVERIFY2(why.contains("winner: ") && why.contains("best PyTorch can run: "), qPrintable(why));
    QVERIFY(why.contains(QString::fromStdString(window.snapshot()->comparison.why).toHtmlEscaped()));
  }

  // --- Hardware, Help, trace. ---

  void a_hardware_profile_file_can_be_opened_and_a_bad_one_is_one_line() {
    QTemporaryDir dir;
    const QString profile = dir.filePath("calibrated.json");
    QVERIFY(QFile::copy(QString(CPSIM_SOURCE_DIR) + "/data/hardware/h200-sxm-8x.json", profile));
    MainWindow window;
    window.set_world_size(4);
    window.set_workload(small_inputs(4).workload, "test.json");
    QVERIFY(wait_for_plan(window));
    QVERIFY(window.set_hardware(profile));
    QVERIFY(wait_for_plan(window));
    QCOMPARE(QString::fromStdString(window.snapshot()->inputs.hardware), QFileInfo(profile).absoluteFilePath());
    check_views_follow_selection(window, 4);
    const QString bad = dir.filePath("bad.json");
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("{\"schema_version\": 1,\n \"name\": 3}");
    f.close();
    QVERIFY(!window.set_hardware(bad));
    QVERIFY2(window.last_error().contains("bad.json") && !window.last_error().contains('\n'), qPrintable(window.last_error()));
    QCOMPARE(window.hardware(), QFileInfo(profile).absoluteFilePath());  // the choice stays on the good one
    // The command line: --hardware with a file that is not a profile is exit 2 and one line on stderr.
    QProcess gui;
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "offscreen");
    gui.setProcessEnvironment(env);
    gui.start(CPSIM_GUI_BINARY, {"--hardware", bad, "--screenshot", dir.filePath("shot.png")});
    QVERIFY(gui.waitForFinished(60000));
    QCOMPARE(gui.exitCode(), 2);
    const QStringList lines = QString::fromUtf8(gui.readAllStandardError()).split('\n', Qt::SkipEmptyParts).filter("cpsim-gui");
    QCOMPARE(lines.size(), 1);
    QVERIFY2(lines.front().startsWith("cpsim-gui: error: ") && lines.front().contains("bad.json"), qPrintable(lines.front()));
  }

  void help_lists_the_shortcuts_and_the_trace_export_names_perfetto() {
    const QString shortcuts = MainWindow::shortcuts_text();
    for (const char* key : {"Ctrl+1", "Ctrl+0", "Ctrl+R", "Ctrl+T", "Ctrl+H", "wheel"}) QVERIFY2(shortcuts.contains(key), key);
    MainWindow window;
    window.set_world_size(4);
    window.set_workload(small_inputs(4).workload, "test.json");
    QVERIFY(wait_for_plan(window));
    QTemporaryDir dir;
    QVERIFY(window.save_trace_to(dir.filePath("trace.json")).ok());
    QVERIFY2(window.status_text().contains("ui.perfetto.dev"), qPrintable(window.status_text()));
    bool help = false;
    for (QAction* a : window.menuBar()->actions()) help = help || a->text() == "&Help";
    QVERIFY(help);
  }

  // --- Zoom and pan. ---

  void timeline_wheel_zooms_at_the_cursor_drag_pans_and_double_click_fits() {
    auto snap = plan_snapshot(small_inputs(8), std::nullopt, nullptr);
    QVERIFY(snap.ok());
    TimelineView view;
    view.resize(800, 400);
    view.set_snapshot(*snap);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const double step = (*snap)->simulation.metrics.step_us;
    QCOMPARE(view.view_range().first, 0.0);
    QCOMPARE(view.view_range().second, step);
    const QRect plot = view.plot_rect();
    const QPointF at(plot.left() + plot.width() * 0.25, plot.center().y());
    const double t_at = step * 0.25;
    for (int i = 0; i < 4; ++i) {  // four notches in: 1.25^4 = 2.44x
      QWheelEvent wheel(at, view.mapToGlobal(at), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
      QApplication::sendEvent(&view, &wheel);
    }
    auto [t0, t1] = view.view_range();
    QVERIFY2(std::abs((t1 - t0) - step / std::pow(1.25, 4)) < step * 1e-6, qPrintable(QString("%1 %2").arg(t0).arg(t1)));
    // The time under the cursor stays under it.
    QVERIFY(std::abs(t0 + (t1 - t0) * 0.25 - t_at) < step * 1e-6);
    // Drag 100 px to the left: the window moves later by 100 px worth of time.
    const double per_px = (t1 - t0) / plot.width();
    QTest::mousePress(&view, Qt::LeftButton, Qt::NoModifier, plot.center());
    QTest::mouseMove(&view, plot.center() - QPoint(50, 0));
    QTest::mouseMove(&view, plot.center() - QPoint(100, 0));
    QTest::mouseRelease(&view, Qt::LeftButton, Qt::NoModifier, plot.center() - QPoint(100, 0));
    QVERIFY2(std::abs(view.view_range().first - (t0 + 100 * per_px)) < per_px, qPrintable(QString::number(view.view_range().first)));
    QVERIFY(std::abs((view.view_range().second - view.view_range().first) - (t1 - t0)) < step * 1e-6);
    // Panning stops at the step's ends.
    QTest::mousePress(&view, Qt::LeftButton, Qt::NoModifier, plot.center());
    QTest::mouseMove(&view, plot.center() + QPoint(5000, 0));
    QTest::mouseRelease(&view, Qt::LeftButton, Qt::NoModifier, plot.center() + QPoint(5000, 0));
    QCOMPARE(view.view_range().first, 0.0);
    QTest::mouseDClick(&view, Qt::LeftButton, Qt::NoModifier, plot.center());
    QCOMPARE(view.view_range().second, step);
  }

  void timeline_labels_thin_out_at_w_64_and_an_overview_appears() {
    auto snap = plan_snapshot(small_inputs(64), std::nullopt, nullptr);
    QVERIFY2(snap.ok(), snap.ok() ? "" : snap.error().message.c_str());
    TimelineView view;
    view.resize(800, 420);
    view.set_snapshot(*snap);
    const int ranks = static_cast<int>((*snap)->simulation.timeline.ranks.size());
    QVERIFY(ranks >= 16);
    const double lane = static_cast<double>(view.plot_rect().height()) / ranks;
    QVERIFY(view.label_stride() > 1);
    QVERIFY(view.label_stride() * lane >= view.fontMetrics().height());  // labels do not overlap
    QVERIFY(view.plot_rect().bottom() < view.height() - 40);            // room for the overview strip
    QImage image(view.size(), QImage::Format_RGB32);
    view.render(&image);
    QVERIFY(non_uniform_share(image) > 0.05);
  }

  void mask_wheel_zooms_down_to_tiles_and_drag_pans() {
    PlannerInputs in = small_inputs(4);
    in.workload = testing::make_workload(65536, MaskKind::kDocumentCausal, {{16384, 8192, 32768, 8192}});
    auto snap = plan_snapshot(in, std::nullopt, nullptr);
    QVERIFY(snap.ok());
    MaskView view;
    view.resize(600, 600);
    view.set_snapshot(*snap);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QCOMPARE(view.span(), std::int64_t{65536});
    QCOMPARE(view.tokens_per_cell(), std::int64_t{256});  // the whole mask: 256 cells of 256 tokens
    const QRect target = view.image_rect();
    const QPointF centre = target.center();
    for (int i = 0; i < 12; ++i) {
      QWheelEvent wheel(centre, view.mapToGlobal(centre), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
      QApplication::sendEvent(&view, &wheel);
    }
    QCOMPARE(view.tokens_per_cell(), std::int64_t{128});  // tile resolution
    QCOMPARE(view.span(), std::int64_t{8 * 128});          // zoomed as far as it goes: 8 tiles per side
    const std::int64_t q0 = view.q_origin(), k0 = view.k_origin();
    QVERIFY(q0 > 0 && k0 > 0);
    const double per_px = static_cast<double>(view.span()) / target.width();
    QTest::mousePress(&view, Qt::LeftButton, Qt::NoModifier, target.center());
    QTest::mouseMove(&view, target.center() + QPoint(60, 30));
    QTest::mouseRelease(&view, Qt::LeftButton, Qt::NoModifier, target.center() + QPoint(60, 30));
    QVERIFY2(std::abs(static_cast<double>(k0 - view.k_origin()) - 60 * per_px) <= per_px + 1, qPrintable(QString::number(view.k_origin())));
    QVERIFY(std::abs(static_cast<double>(q0 - view.q_origin()) - 30 * per_px) <= per_px + 1);
    QTest::mouseDClick(&view, Qt::LeftButton, Qt::NoModifier, target.center());
    QCOMPARE(view.span(), std::int64_t{65536});
  }

  void a_zoomed_mask_window_matches_the_whole_mask() {
    const Workload w = testing::make_workload(2048, MaskKind::kDocumentCausal, {{512, 1024, 512}});
    auto plan = make_plan(w, "t.json", "head_tail", 4, 16);
    QVERIFY(plan.ok());
    for (const bool rearranged : {false, true}) {
      const MaskRaster whole = make_mask_raster(*plan, 0, 128, rearranged);  // 16 tokens per cell
      QCOMPARE(whole.tokens_per_cell, std::int64_t{16});
      const MaskRaster part = make_mask_raster_window(*plan, 0, 32, rearranged, 320, 160, 512);  // 16 per cell too
      QCOMPARE(part.tokens_per_cell, std::int64_t{16});
      for (int q = 0; q < part.cells; ++q) {
        for (int k = 0; k < part.cells; ++k) QCOMPARE(part.at(q, k), whole.at(q + 20, k + 10));
      }
      const CellInfo a = describe_cell(*plan, part, 3, 4), b = describe_cell(*plan, whole, 23, 14);
      QCOMPARE(a.pairs, b.pairs);
      QCOMPARE(a.q_first, b.q_first);
    }
  }

  // --- Sweep and batch. ---

  void the_sweep_charts_every_w_and_a_click_loads_it() {
    MainWindow window;
    window.set_hardware("h100-sxm-8x");
    window.set_world_size(4);
    window.set_workload(small_inputs(4).workload, "test.json");
    QVERIFY(wait_for_plan(window));
    SweepView* sweep = window.sweep_view();
    QSignalSpy done(sweep, &SweepView::finished);
    sweep->run();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() >= 1 && !sweep->busy(), 60000);
    QVERIFY2(sweep->sweep().has_value(), qPrintable(sweep->message()));
    std::vector<std::int64_t> ws;
    for (const SweepRow& row : sweep->sweep()->rows) ws.push_back(row.world_size);
    QVERIFY(std::find(ws.begin(), ws.end(), 8) != ws.end() && std::find(ws.begin(), ws.end(), 2) != ws.end());
    sweep->choose_near(7.2);  // a click near W = 8 on the log axis
    QCOMPARE(window.world_size(), 8);
    QVERIFY(wait_for_plan(window));
    check_views_follow_selection(window, 8);
  }

  void the_batch_view_reads_a_batch_folder_and_opens_a_line() {
    QTemporaryDir dir;
    std::vector<BatchLine> lines;
    for (int i = 0; i < 5; ++i) {
      lines.push_back({i + 1, testing::make_workload(4096, MaskKind::kDocumentCausal, {{512 * (i + 1), 4096 - 512 * (i + 1)}})});
    }
    BatchSettings settings;
    settings.world_size = 4;
    settings.profile = find_hardware_profile("h100-sxm-8x").value();
    BatchProgress progress;
    auto ran = run_batch(lines, "b.jsonl", settings, dir.path().toStdString(), progress);
    QVERIFY2(ran.ok(), ran.ok() ? "" : ran.error().message.c_str());
    MainWindow window;
    window.set_world_size(8);  // not the batch's W: opening a line must switch to the W and profile it was planned at
    window.set_hardware("h100-sxm-ib");
    BatchView* batch = window.batch_view();
    QVERIFY2(batch->open_folder(dir.path()), qPrintable(batch->message()));
    QCOMPARE(batch->results().size(), std::size_t{5});
    QVERIFY2(batch->message().contains("5 lines"), qPrintable(batch->message()));
    QVERIFY(batch->open_line(2));  // line 3: its plan's workload in the plan tab
    QVERIFY(wait_for_plan(window));
    QCOMPARE(window.snapshot()->inputs.workload.documents, lines[2].workload.documents);
    QCOMPARE(window.snapshot()->inputs.world_size, std::int64_t{4});
    QCOMPARE(QString::fromStdString(window.snapshot()->profile.name), QString("h100-sxm-8x"));
    QCOMPARE(strategy_text(window.snapshot()->selection), strategy_text(batch->results()[2].chosen.strategy));  // the batch's choice
    QVERIFY(!batch->open_folder(dir.filePath("results")));  // not a batch folder: said, not fatal
    QVERIFY(batch->message().contains("not a folder"));
  }

  // 1M tokens at W = 64: planned in the background with a busy indicator while the event loop keeps running
  // (the issue's target: <= 1.5 s to re-plan; the elapsed time is printed, not asserted, on a shared machine).
  void a_1m_token_plan_at_w_64_keeps_the_window_responsive() {
    MainWindow window;
    window.resize(1600, 1000);
    window.set_hardware("h100-sxm-8x");
    window.set_backward(false);
    window.set_world_size(64);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QElapsedTimer clock;
    QVERIFY(window.open_workload(QString(CPSIM_SOURCE_DIR) + "/data/workloads/doc-lognormal-1m.json"));
    clock.start();
    QVERIFY(window.planning());
    QVERIFY2(window.status_text().startsWith("planning"), qPrintable(window.status_text()));
    qint64 last = 0, worst_gap = 0;
    int ticks = 0;
    while (window.planning() && clock.elapsed() < 60000) {
      QTest::qWait(10);
      worst_gap = std::max(worst_gap, clock.elapsed() - last);
      last = clock.elapsed();
      ++ticks;
    }
    const qint64 total = clock.elapsed();
    QVERIFY(window.snapshot());
    check_views_follow_selection(window, 64);
    qInfo("1M tokens, W = 64: planned in %.0f ms (background), %lld ms until shown; longest event-loop gap while planning %lld ms",
          window.snapshot()->elapsed_ms, static_cast<long long>(total), static_cast<long long>(worst_gap));
    QVERIFY(ticks >= 1);  // the event loop ran while the plan was made (times are printed: they depend on the load)
  }

  // The shipped 131,072-token workload re-planned at W = 8 in the window (the issue's target: <= 100 ms): printed,
  // not asserted, since a verdict must not depend on the machine's load; bench_gui_snapshot measures it.
  void a_re_plan_of_the_128k_workload_at_w_8_is_quick() {
    MainWindow window;
    window.set_hardware("h100-sxm-8x");
    window.set_backward(false);
    window.set_world_size(4);
    QVERIFY(window.open_workload(QString(CPSIM_SOURCE_DIR) + "/data/workloads/doc-lognormal-128k.json"));
    QVERIFY(wait_for_plan(window));
    std::vector<double> times;
    for (int i = 0; i < 5; ++i) {
      window.set_world_size(i % 2 == 0 ? 8 : 4);
      QVERIFY(wait_for_plan(window));
      if (i % 2 == 0) times.push_back(window.snapshot()->elapsed_ms);
    }
    std::sort(times.begin(), times.end());
    qInfo("131,072 tokens, W = 8: re-plan in %.0f ms (median of %zu)", times[times.size() / 2], times.size());
    QCOMPARE(times.size(), std::size_t{3});
  }

  void hovering_shows_time_work_and_bytes() {
    auto snap = plan_snapshot(small_inputs(4), std::nullopt, nullptr);
    QVERIFY(snap.ok());
    TimelineView view;
    view.resize(900, 400);
    view.set_snapshot(*snap);
    // Scan a rank-0 lane for a compute bar and the row below it for a communication bar.
    const QRect plot = view.plot_rect();
    const double lane = static_cast<double>(plot.height()) / static_cast<double>((*snap)->simulation.timeline.ranks.size());
    QString compute, comm;
    for (int x = plot.left(); x < plot.right(); x += 2) {
      const QString top = view.text_at(QPointF(x, plot.top() + lane * 0.3));
      const QString bottom = view.text_at(QPointF(x, plot.top() + lane * 0.75));
      if (compute.isEmpty() && top.contains("tiles")) compute = top;
      if (comm.isEmpty() && bottom.contains("sent per rank")) comm = bottom;
    }
    QVERIFY2(compute.contains("rank 0") && compute.contains("pairs") && compute.contains(" - "), qPrintable(compute));
    const bool has_comm = std::any_of((*snap)->simulation.timeline.ops.begin(), (*snap)->simulation.timeline.ops.end(),
                                      [](const Op& op) { return op.kind == OpKind::kComm; });
    if (has_comm) QVERIFY2(comm.contains("B sent per rank") || comm.contains("iB sent per rank"), qPrintable(comm));
    QVERIFY(view.text_at(QPointF(2, 2)).isEmpty());
    // The mask at tile resolution names the tile's kind.
    const MaskRaster fine = make_mask_raster((*snap)->plan, 0, 4096, true);
    QCOMPARE(fine.tokens_per_cell, std::int64_t{128});
    const std::string diagonal = describe_cell_text(describe_cell((*snap)->plan, fine, 0, 0), true);
    QVERIFY2(diagonal.find("tile: partial") != std::string::npos, diagonal.c_str());
  }

  void screenshot_draws_every_view() {
    QTemporaryDir dir;
    const QString out = dir.filePath("shot.png");
    QProcess gui;
    gui.setProcessEnvironment([] {
      auto env = QProcessEnvironment::systemEnvironment();
      env.insert("QT_QPA_PLATFORM", "offscreen");
      return env;
    }());
    gui.start(CPSIM_GUI_BINARY, {"--screenshot", out, QString(CPSIM_SOURCE_DIR) + "/data/workloads/doc-lognormal-128k.json"});
    QVERIFY(gui.waitForFinished(60000));
    QCOMPARE(gui.exitCode(), 0);
    const QImage whole(out);
    QVERIFY(!whole.isNull());
    QVERIFY(non_uniform_share(whole) > 0.05);
    for (const char* view : {"mask", "work", "timeline", "comparison"}) {
      const QImage image(dir.filePath(QString("shot-%1.png").arg(view)));
      QVERIFY2(!image.isNull(), view);
      QVERIFY2(non_uniform_share(image) > 0.02, view);
    }
  }

  void a_bad_file_is_reported_in_the_window_not_fatal() {
    QTemporaryDir dir;
    const QString bad = dir.filePath("bad.json");
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("{\"schema_version\":1,\"seq_len\":");
    f.close();
    QProcess gui;
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "offscreen");
    gui.setProcessEnvironment(env);
    gui.start(CPSIM_GUI_BINARY, {"--screenshot", dir.filePath("shot.png"), bad});
    QVERIFY(gui.waitForFinished(60000));
    QCOMPARE(gui.exitStatus(), QProcess::NormalExit);
    QCOMPARE(gui.exitCode(), 2);
    QVERIFY(QString::fromUtf8(gui.readAllStandardError()).contains("bad.json: line 1, column 31: syntax error"));
    QVERIFY(QFile::exists(dir.filePath("shot.png")));  // the window still rendered, showing the message
  }
};

QTEST_MAIN(GuiTest)
#include "gui_test.moc"
