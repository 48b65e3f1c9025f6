// A small bounded nonlinear least-squares solver (Levenberg-Marquardt, Eigen) for calibration: a handful of
// constants, residuals relative to measurements, and a weak pull towards each constant's starting value so that
// constants the data cannot tell apart stay where they were instead of wandering.
#pragma once

#include <functional>
#include <vector>

namespace cpsim {

struct FitParameter {
  double start = 0;         // also the prior: the value the data must argue away from
  double lower = 0, upper = 0;
  double prior_weight = 0;  // weight of (value - start) / scale in the objective; 0: none
  double scale = 1;         // the size of a change that counts as "one unit" for the prior
};

// Fills `residuals` (one per sample) for the parameter values given.
using ResidualFunction = std::function<void(const std::vector<double>& values, std::vector<double>& residuals)>;

struct FitResult {
  std::vector<double> values;
  // Per parameter: whether the samples determine it (its standard error from them and the other parameters'
  // priors, at the samples' own scatter and at least 2%, is under half its size). A parameter the samples cannot
  // tell from another is not determined.
  std::vector<bool> determined;
  // How well the samples pin the solution down, for calibrate's diagnostics (nothing above depends on these):
  // per parameter its standard error from the samples (computed as for `determined`, at the solution), infinite
  // where the samples cannot tell it from another;
  std::vector<double> standard_error;
  // per parameter how much the samples see of it, for residuals of the form prediction / measurement - 1: the largest
  // share of a sample's prediction that a relative change of the parameter moves (a parameter at its scale that is
  // 1% of every prediction: 0.01);
  std::vector<double> influence;
  // the condition number of the samples' Jacobian at the solution over the determined parameters (the others are
  // held), each column scaled by its parameter's size (so: relative error per relative change), infinite when
  // singular, 0 when none is determined; and the determined parameters that make up its least determined direction
  // (the singular vector of the smallest singular value, components above 0.3, largest first).
  double condition = 0;
  std::vector<std::size_t> weakest;
};

// Minimises sum r_i^2 + sum (w_j (x_j - start_j) / scale_j)^2 within the bounds to find which parameters the data
// determine, then the residuals alone over those, the others held at their starting values. The residuals may
// be piecewise smooth (a max of two linear forms): derivatives are taken numerically. Deterministic.
FitResult least_squares(const ResidualFunction& residuals, std::size_t samples, const std::vector<FitParameter>& parameters, int iterations = 200);

}  // namespace cpsim
