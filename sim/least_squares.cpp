// Levenberg-Marquardt with box bounds (projected steps) and numeric Jacobians.
#include "sim/least_squares.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>

namespace cpsim {
namespace {

// The relative scatter assumed of measurements that fit exactly (synthetic ones): run-to-run spread of GPU timings.
constexpr double kMinNoise = 0.02;

std::vector<double> clamp_to(const std::vector<double>& x, const std::vector<FitParameter>& p) {
  std::vector<double> out(x.size());
  for (std::size_t j = 0; j < x.size(); ++j) out[j] = std::clamp(x[j], p[j].lower, p[j].upper);
  return out;
}

// The samples' Jacobian at x, by one-sided steps as the solver takes them.
Eigen::MatrixXd data_jacobian(const ResidualFunction& residuals, std::size_t samples, const std::vector<FitParameter>& p,
                              const std::vector<double>& x, std::vector<double>& at_x) {
  const auto n = static_cast<Eigen::Index>(samples);
  Eigen::MatrixXd jac(n, static_cast<Eigen::Index>(p.size()));
  at_x.assign(samples, 0);
  residuals(x, at_x);
  std::vector<double> moved(samples);
  for (std::size_t j = 0; j < p.size(); ++j) {
    std::vector<double> y = x;
    const double h = 1e-6 * std::max(std::abs(x[j]), p[j].scale);
    const double step = y[j] + h <= p[j].upper ? h : -h;
    y[j] += step;
    residuals(y, moved);
    for (Eigen::Index i = 0; i < n; ++i) jac(i, static_cast<Eigen::Index>(j)) = (moved[static_cast<std::size_t>(i)] - at_x[static_cast<std::size_t>(i)]) / step;
  }
  return jac;
}

// Each parameter's standard deviation with the samples (data_info = J'J) and the other parameters' priors, at the
// residuals' scatter `noise`: what diagnose reports and what solve's test of determinedness reads.
std::vector<double> marginal_sds(const Eigen::MatrixXd& data_info, const std::vector<FitParameter>& p, double noise) {
  const std::size_t k = p.size();
  const auto kk = static_cast<Eigen::Index>(k);
  std::vector<double> out(k);
  for (std::size_t j = 0; j < k; ++j) {
    Eigen::MatrixXd info = data_info;
    for (std::size_t i = 0; i < k; ++i) {
      if (i != j) info(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(i)) += std::pow(p[i].prior_weight / p[i].scale, 2);
    }
    info.diagonal().array() += 1e-12 * std::max(1.0, info.diagonal().maxCoeff());
    const Eigen::MatrixXd cov = info.ldlt().solve(Eigen::MatrixXd::Identity(kk, kk));
    out[j] = noise * std::sqrt(std::max(0.0, cov(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(j))));
  }
  return out;
}

// Standard errors, influence, the condition number and the weakest direction at the solution (FitResult's last four).
void diagnose(const ResidualFunction& residuals, std::size_t samples, const std::vector<FitParameter>& p, FitResult& out) {
  const std::size_t k = p.size();
  std::vector<double> r;
  const Eigen::MatrixXd jac = data_jacobian(residuals, samples, p, out.values, r);
  double squares = 0;
  for (const double x : r) squares += x * x;
  const double noise = std::max(kMinNoise, samples > 0 ? std::sqrt(squares / static_cast<double>(samples)) : 0.0);
  // As solve's test of determinedness: the samples with the other parameters' priors, at the residuals' scatter.
  const Eigen::MatrixXd data_info = jac.transpose() * jac;
  out.standard_error.assign(k, std::numeric_limits<double>::infinity());
  const std::vector<double> sds = marginal_sds(data_info, p, noise);
  for (std::size_t j = 0; j < k; ++j) {
    if (std::isfinite(sds[j])) out.standard_error[j] = sds[j];
  }
  // A residual is prediction / measurement - 1, so a column over (1 + residual) is the change of the prediction
  // relative to itself: the share of a sample's predicted time that the parameter makes.
  out.influence.assign(k, 0);
  for (std::size_t j = 0; j < k; ++j) {
    for (std::size_t i = 0; i < samples; ++i) {
      const double share = std::abs(jac(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j))) * std::max(std::abs(out.values[j]), p[j].scale) /
                           std::max(std::abs(1.0 + r[i]), 1e-12);
      out.influence[j] = std::max(out.influence[j], share);
    }
  }
  // The determined parameters' columns (the others were held at their starting values), in relative units so that
  // a constant of 1e-3 and one of 1e3 weigh alike.
  std::vector<std::size_t> fitted;
  for (std::size_t j = 0; j < k; ++j) {
    if (out.determined[j]) fitted.push_back(j);
  }
  out.condition = 0;
  out.weakest.clear();
  if (fitted.empty()) return;
  const auto m = static_cast<Eigen::Index>(fitted.size());
  Eigen::MatrixXd scaled(jac.rows(), m);
  for (Eigen::Index c = 0; c < m; ++c) {
    const std::size_t j = fitted[static_cast<std::size_t>(c)];
    scaled.col(c) = jac.col(static_cast<Eigen::Index>(j)) * std::max(std::abs(out.values[j]), p[j].scale);
  }
  out.condition = std::numeric_limits<double>::infinity();
  if (!scaled.allFinite()) return;
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(scaled, Eigen::ComputeFullV);
  const Eigen::VectorXd& sigma = svd.singularValues();
  const double largest = sigma.size() > 0 ? sigma(0) : 0.0;
  const double smallest = sigma.size() == m ? sigma(m - 1) : 0.0;  // fewer samples than parameters: singular
  if (largest > 0 && smallest > 1e-12 * largest) out.condition = largest / smallest;
  const Eigen::VectorXd weak = svd.matrixV().col(m - 1);
  std::vector<Eigen::Index> order;
  for (Eigen::Index c = 0; c < m; ++c) {
    if (std::abs(weak(c)) > 0.3) order.push_back(c);
  }
  std::sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return std::abs(weak(a)) > std::abs(weak(b)); });
  for (const Eigen::Index c : order) out.weakest.push_back(fitted[static_cast<std::size_t>(c)]);
}

}  // namespace

namespace {

FitResult solve(const ResidualFunction& residuals, std::size_t samples, const std::vector<FitParameter>& p, int iterations) {
  const std::size_t k = p.size();
  const std::size_t rows = samples + k;
  std::vector<double> x(k);
  for (std::size_t j = 0; j < k; ++j) x[j] = std::clamp(p[j].start, p[j].lower, p[j].upper);
  std::vector<double> r(samples);
  auto all = [&](const std::vector<double>& at, Eigen::VectorXd& out) {
    residuals(at, r);
    out.resize(static_cast<Eigen::Index>(rows));
    for (std::size_t i = 0; i < samples; ++i) out(static_cast<Eigen::Index>(i)) = r[i];
    for (std::size_t j = 0; j < k; ++j) {
      out(static_cast<Eigen::Index>(samples + j)) = p[j].prior_weight * (at[j] - p[j].start) / p[j].scale;
    }
    return out.squaredNorm();
  };
  Eigen::VectorXd f;
  double cost = all(x, f);
  double lambda = 1e-3;
  Eigen::MatrixXd jac(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(k));
  auto jacobian = [&] {
    for (std::size_t j = 0; j < k; ++j) {
      std::vector<double> y = x;
      const double h = 1e-6 * std::max(std::abs(x[j]), p[j].scale);
      // A one-sided step that stays inside the bounds.
      const double step = y[j] + h <= p[j].upper ? h : -h;
      y[j] += step;
      Eigen::VectorXd g;
      all(y, g);
      jac.col(static_cast<Eigen::Index>(j)) = (g - f) / step;
    }
  };
  for (int it = 0; it < iterations; ++it) {
    jacobian();
    const Eigen::MatrixXd jtj = jac.transpose() * jac;
    const Eigen::VectorXd jtf = jac.transpose() * f;
    bool improved = false;
    for (int tries = 0; tries < 12 && !improved; ++tries) {
      Eigen::MatrixXd a = jtj;
      for (Eigen::Index d = 0; d < a.rows(); ++d) a(d, d) += lambda * std::max(jtj(d, d), 1e-12);
      const Eigen::VectorXd delta = a.ldlt().solve(-jtf);
      std::vector<double> y(k);
      for (std::size_t j = 0; j < k; ++j) y[j] = x[j] + delta(static_cast<Eigen::Index>(j));
      y = clamp_to(y, p);
      Eigen::VectorXd g;
      const double c = all(y, g);
      if (std::isfinite(c) && c < cost) {
        const bool tiny = cost - c < 1e-14 * std::max(cost, 1e-300);
        x = y;
        f = g;
        cost = c;
        lambda = std::max(lambda / 3, 1e-12);
        improved = true;
        if (tiny) it = iterations;
      } else {
        lambda *= 4;
      }
    }
    if (!improved) break;
  }
  // Determined: the samples, with the other parameters' priors but not its own, give the parameter a standard error
  // under half its size, at the residuals' own scatter (at least kMinNoise). A parameter the samples cannot tell
  // from another (collinear columns, neither held by a prior) has no finite error and is not determined.
  jacobian();
  FitResult out;
  out.values = x;
  out.determined.assign(k, false);
  const auto n = static_cast<Eigen::Index>(samples);
  const Eigen::MatrixXd data = jac.topRows(n);
  const double noise = std::max(kMinNoise, samples > 0 ? std::sqrt(f.head(n).squaredNorm() / static_cast<double>(samples)) : 0.0);
  const Eigen::MatrixXd data_info = data.transpose() * data;
  const std::vector<double> sds = marginal_sds(data_info, p, noise);
  for (std::size_t j = 0; j < k; ++j) {
    out.determined[j] = std::isfinite(sds[j]) && sds[j] < 0.5 * std::max(std::abs(x[j]), p[j].scale);
  }
  return out;
}

}  // namespace

FitResult least_squares(const ResidualFunction& residuals, std::size_t samples, const std::vector<FitParameter>& p, int iterations) {
  // First with the prior on everything, to learn what the data determine; then again with the undetermined held at
  // their starting values and no prior on the rest, so that the determined land where the data alone put them
  // however far from their start, and a refit from the result changes nothing.
  const FitResult first = solve(residuals, samples, p, iterations);
  std::vector<FitParameter> q = p;
  for (std::size_t j = 0; j < q.size(); ++j) {
    if (first.determined[j]) {
      q[j].start = first.values[j];
      q[j].prior_weight = 0;
    } else {
      q[j].lower = q[j].upper = std::clamp(p[j].start, p[j].lower, p[j].upper);
    }
  }
  FitResult second = solve(residuals, samples, q, iterations);
  for (std::size_t j = 0; j < q.size(); ++j) second.determined[j] = first.determined[j];
  diagnose(residuals, samples, p, second);  // with the priors of `p`: how `determined` was decided
  return second;
}

}  // namespace cpsim
