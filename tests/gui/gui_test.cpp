// GUI tests, headless (QT_QPA_PLATFORM=offscreen): item models under QAbstractItemModelTester, the mask
// raster against the mask definition, stale-job cancellation, execution through QProcess (and cancel),
// and the --screenshot mode drawing something in every view.
#include <QAbstractItemModelTester>
#include <QImage>
#include <QProcess>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTemporaryDir>
#include <QtTest>

#include <QTableView>

#include "core/test_util.h"
#include "gui/app/execute_panel.h"
#include "gui/app/main_window.h"
#include "gui/app/planner.h"
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
    QCOMPARE(model.data(model.index(0, ComparisonModel::kNote)).toString(), QString("best"));
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
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, 10000);
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
    auto* proxy = table->model();
    int pick = -1;
    Strategy wanted;
    for (int row = 0; row < proxy->rowCount() && pick < 0; ++row) {
      const auto snap = window.snapshot();
      for (const Candidate& c : snap->comparison.ranked) {
        const QString shown = proxy->index(row, ComparisonModel::kStrategy).data().toString();
        if (c.strategy.ulysses == 2 && !c.strategy.pure_ulysses && !(c.strategy == snap->selection) &&
            QString::fromStdString(path_text(c.strategy)) == shown &&
            proxy->index(row, ComparisonModel::kBalancer).data().toString() == QString::fromStdString(c.strategy.balancer)) {
          pick = row;
          wanted = c.strategy;
          break;
        }
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
