// GUI views, headless: hardware files and the Help menu, timeline and mask zoom and pan, hover texts, the
// --screenshot mode and a bad file reported in the window.
#include "gui_support.h"

using namespace cpsim;
using namespace cpsim::gui;
using namespace cpsim::gui::testing_support;

class GuiViewsTest : public QObject {
  Q_OBJECT

 private slots:
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

QTEST_MAIN(GuiViewsTest)
#include "gui_views_test.moc"
