// The sweep and batch tabs, headless, and the planning times the issue targets (printed, not asserted: a verdict
// must not depend on the machine's load).
#include "gui_support.h"

using namespace cpsim;
using namespace cpsim::gui;
using namespace cpsim::gui::testing_support;

class GuiTabsTest : public QObject {
  Q_OBJECT

 private slots:
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
  // (the target: <= 1.5 s to re-plan; the elapsed time is printed, not asserted, on a shared machine).
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

  // The shipped 131,072-token workload re-planned at W = 8 in the window (the target: <= 100 ms): printed,
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

};

QTEST_MAIN(GuiTabsTest)
#include "gui_tabs_test.moc"
