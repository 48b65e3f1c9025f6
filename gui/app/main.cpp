// cpsim-gui [WORKLOAD.json] [--world-size W] [--hardware NAME|FILE] [--screenshot OUT.png]: the desktop planner.
// With --screenshot it waits for the plan, writes OUT.png (from the X server's own pixels under xcb, else rendered
// headless) and OUT-<view>.png, and exits; --view, --tab and --batch pick what the screenshot shows.
#include <QApplication>
#include <QScreen>
#include <QTabWidget>
#include <QThread>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QTimer>
#include <cstdio>
#include <exception>
#include <new>

#include "core/allocator.h"
#include "core/file_io.h"
#include "core/text_format.h"
#include "gui/app/batch_view.h"
#include "gui/app/execute_panel.h"
#include "gui/app/main_window.h"
#include "gui/app/mask_view.h"
#include "gui/app/sweep_view.h"

namespace {

QString default_workload() {
  const QString shipped = QString::fromStdString(cpsim::hardware_dir()) + "/../workloads/doc-lognormal-128k.json";
  return QFileInfo(shipped).exists() ? QFileInfo(shipped).canonicalFilePath() : QString();
}

}  // namespace

int run_gui(int argc, char** argv);

// Whatever escapes the window's set-up or its event loop ends as one line on stderr, not as std::terminate.
int main(int argc, char** argv) {
  try {
    return run_gui(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "cpsim-gui: error: out of memory\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpsim-gui: internal error: %s (please report it)\n", cpsim::printable(e.what()).c_str());
    return 70;
  }
}

int run_gui(int argc, char** argv) {
  cpsim::keep_freed_memory_for_reuse();
  cpsim::remove_temporaries_on_signals();
  QApplication app(argc, argv);
  QApplication::setApplicationName("cpsim-gui");
  QCommandLineParser parser;
  parser.setApplicationDescription("cpsim desktop: explore a workload's context-parallel plans");
  parser.addHelpOption();
  parser.addOption({"screenshot", "Render the window headless to <png> (and <png>-<view>.png) and exit.", "png"});
  parser.addOption({"world-size", "CP degree W to start with.", "W"});
  parser.addOption({"hardware", "Hardware profile: a shipped name (data/hardware/) or a profile file, e.g. what `cpsim calibrate` wrote.",
                    "NAME|FILE"});
  parser.addOption({"backward", "Plan forward + backward."});
  parser.addOption({"batch", "Open this `cpsim batch --out-dir` folder in the batch tab.", "DIR"});
  parser.addOption({"tab", "Start on this tab: plan, sweep or batch.", "TAB"});
  parser.addOption({"execute", "With --screenshot: execute the selected plan (cpsim execute, CPU) and wait for it first."});
  parser.addOption({"mask-zoom", "Zoom the mask view by this factor at its top-left corner once planned (for screenshots).", "F"});
  parser.addOption({"view", "Show one plan view alone: 1 mask, 2 work, 3 timeline, 4 comparison, 5 execute.", "N"});
  parser.addPositionalArgument("workload", "WORKLOAD.json (default: the shipped 131,072-token document workload)");
  parser.process(app);

  cpsim::gui::MainWindow window;
  window.resize(1600, 1000);
  // Applied before the workload so that the first plan uses them.
  if (parser.isSet("world-size")) window.set_world_size(parser.value("world-size").toInt());
  if (parser.isSet("hardware") && !window.set_hardware(parser.value("hardware"))) {
    std::fprintf(stderr, "cpsim-gui: error: %s\n", qPrintable(window.last_error()));
    return 2;
  }
  if (parser.isSet("backward")) window.set_backward(true);
  const QStringList args = parser.positionalArguments();
  const QString workload = args.isEmpty() ? default_workload() : args.first();
  if (!workload.isEmpty()) window.open_workload(workload);
  if (parser.isSet("batch") && !window.batch_view()->open_folder(parser.value("batch"))) {
    std::fprintf(stderr, "cpsim-gui: error: %s\n", qPrintable(window.batch_view()->message()));
  }
  window.show();
  if (parser.isSet("view")) window.show_only(parser.value("view").toInt() - 1);
  if (parser.value("tab") == "sweep") window.tabs()->setCurrentWidget(window.sweep_view());
  if (parser.value("tab") == "batch") window.tabs()->setCurrentWidget(window.batch_view());
  if (!parser.isSet("screenshot")) return QApplication::exec();

  // Screenshot mode: wait for the plan and the sweep (at most 120 s), let the views paint, grab, exit.
  const QString out = parser.value("screenshot");
  QElapsedTimer timer;
  timer.start();
  while ((window.planning() || window.sweep_view()->busy() || (!window.snapshot() && window.last_error().isEmpty())) &&
         timer.elapsed() < 120000) {
    QApplication::processEvents(QEventLoop::AllEvents, 50);
  }
  if (parser.isSet("execute") && window.snapshot()) {
    window.execute_panel()->start();
    while (window.execute_panel()->running() && timer.elapsed() < 240000) QApplication::processEvents(QEventLoop::AllEvents, 50);
  }
  if (parser.isSet("mask-zoom")) window.mask_view()->zoom_at(parser.value("mask-zoom").toDouble(), window.mask_view()->image_rect().topLeft());
  for (int i = 0; i < 10; ++i) QApplication::processEvents(QEventLoop::AllEvents, 20);
  // Under a real X server, the pixels the server shows (what a user sees); headless, the widgets rendered.
  QPixmap shot;
  if (QGuiApplication::platformName() == "xcb") {
    for (int i = 0; i < 20; ++i) {
      QApplication::processEvents(QEventLoop::AllEvents, 20);
      QThread::msleep(25);
    }
    shot = window.screen()->grabWindow(window.winId());
  }
  if (shot.isNull()) shot = window.grab();
  if (!shot.save(out)) {
    std::fprintf(stderr, "cpsim-gui: error: %s: cannot write the screenshot\n", qPrintable(out));
    return 2;
  }
  const QString stem = out.endsWith(".png") ? out.chopped(4) : out;
  for (const auto& [name, widget] : window.views()) {
    if (widget->isVisible()) widget->grab().save(stem + "-" + name + ".png");
  }
  if (window.snapshot()) std::printf("cpsim-gui: %s\n", qPrintable(window.status_text()));
  if (!window.last_error().isEmpty()) {
    std::fprintf(stderr, "cpsim-gui: error: %s\n", qPrintable(window.last_error()));
    return 2;
  }
  return 0;
}
