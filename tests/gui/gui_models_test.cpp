// GUI models and planner, headless: item models under QAbstractItemModelTester, the mask raster against the mask
// definition, and a newer planning request making the older one stale.
#include "gui_support.h"

using namespace cpsim;
using namespace cpsim::gui;
using namespace cpsim::gui::testing_support;

class GuiModelsTest : public QObject {
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

};

QTEST_MAIN(GuiModelsTest)
#include "gui_models_test.moc"
