// cpsim-gui [WORKLOAD.json] [--screenshot OUT.png]: the desktop planner. With --screenshot it renders the
// main window headless (QT_QPA_PLATFORM=offscreen), writes OUT.png and OUT-<view>.png, and exits.
#include <QApplication>
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
#include "gui/app/main_window.h"

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
  parser.addPositionalArgument("workload", "WORKLOAD.json (default: the shipped 131,072-token document workload)");
  parser.process(app);

  cpsim::gui::MainWindow window;
  window.resize(1600, 1000);
  if (parser.isSet("world-size")) {
    // Applied before the workload so that the first plan uses it.
    window.set_world_size(parser.value("world-size").toInt());
  }
  const QStringList args = parser.positionalArguments();
  const QString workload = args.isEmpty() ? default_workload() : args.first();
  if (!workload.isEmpty()) window.open_workload(workload);
  window.show();
  if (!parser.isSet("screenshot")) return QApplication::exec();

  // Screenshot mode: wait for the plan (at most 60 s), let the views paint, grab, exit.
  const QString out = parser.value("screenshot");
  QElapsedTimer timer;
  timer.start();
  while ((window.planning() || (!window.snapshot() && window.last_error().isEmpty())) && timer.elapsed() < 60000) {
    QApplication::processEvents(QEventLoop::AllEvents, 50);
  }
  for (int i = 0; i < 10; ++i) QApplication::processEvents(QEventLoop::AllEvents, 20);
  if (!window.grab().save(out)) {
    std::fprintf(stderr, "cpsim-gui: error: %s: cannot write the screenshot\n", qPrintable(out));
    return 2;
  }
  const QString stem = out.endsWith(".png") ? out.chopped(4) : out;
  for (const auto& [name, widget] : window.views()) widget->grab().save(stem + "-" + name + ".png");
  if (!window.last_error().isEmpty()) {
    std::fprintf(stderr, "cpsim-gui: error: %s\n", qPrintable(window.last_error()));
    return 2;
  }
  return 0;
}
