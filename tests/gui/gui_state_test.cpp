// The GUI's state rule, headless: views follow the table's selection after every change, invalid input blanks them,
// a new workload clears old results; execution through QProcess and cancel; single-view mode and the why-lines.
#include "gui_support.h"

using namespace cpsim;
using namespace cpsim::gui;
using namespace cpsim::gui::testing_support;

class GuiStateTest : public QObject {
  Q_OBJECT

 private slots:
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

};

QTEST_MAIN(GuiStateTest)
#include "gui_state_test.moc"
