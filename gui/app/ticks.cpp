// Nice numbers for axes (Heckbert's 1-2-5 rule) and short unit texts.
#include "gui/app/ticks.h"

#include <cmath>

namespace cpsim::gui {

double nice_step(double span, int target) {
  const double raw = std::max(span, 1e-12) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * magnitude;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> out;
  if (!(hi > lo)) return out;
  const double step = nice_step(hi - lo, target);
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return out;
}

std::vector<double> token_ticks(double lo, double hi, int target) {
  std::vector<double> out;
  if (!(hi > lo)) return out;
  double step = 1;
  while ((hi - lo) / step > std::max(1, target)) step *= 2;
  for (double t = std::ceil(lo / step) * step; t <= hi; t += step) out.push_back(t);
  return out;
}

QString tokens_text(double tokens) {
  const double a = std::abs(tokens);
  auto trim = [](double v) { return QString::number(v, 'f', v == std::floor(v) ? 0 : (v * 10 == std::floor(v * 10) ? 1 : 2)); };
  if (a >= 1024.0 * 1024.0) return trim(tokens / (1024.0 * 1024.0)) + "M";
  if (a >= 1024.0) return trim(tokens / 1024.0) + "K";
  return QString::number(tokens, 'f', 0);
}

QString time_text(double us) {
  const double a = std::abs(us);
  if (a >= 1e6) return QString::number(us / 1e6, 'g', 3) + " s";
  if (a >= 1e3) return QString::number(us / 1e3, 'g', 4) + " ms";
  return QString::number(us, 'g', 3) + " us";
}

QString bytes_text(double bytes) {
  const double a = std::abs(bytes);
  if (a >= 1024.0 * 1024.0 * 1024.0) return QString::number(bytes / (1024.0 * 1024.0 * 1024.0), 'f', 2) + " GiB";
  if (a >= 1024.0 * 1024.0) return QString::number(bytes / (1024.0 * 1024.0), 'f', 1) + " MiB";
  if (a >= 1024.0) return QString::number(bytes / 1024.0, 'f', 1) + " KiB";
  return QString::number(bytes, 'f', 0) + " B";
}

}  // namespace cpsim::gui
