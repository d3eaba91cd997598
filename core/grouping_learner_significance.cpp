#include "core/grouping_learner_significance.hpp"

#include <cmath>
#include <limits>

namespace pytheas::learner {

Comparison welch(const Cell& challenger, const Cell& incumbent) {
  const double advantage = challenger.mean() - incumbent.mean();
  const double v1 = challenger.variance() / challenger.n;
  const double v2 = incumbent.variance() / incumbent.n;
  Comparison comparison;
  comparison.advantage = advantage;
  if (v1 + v2 > 0) {
    comparison.t = advantage / std::sqrt(v1 + v2);
    comparison.df =
        (v1 + v2) * (v1 + v2) / (v1 * v1 / (challenger.n - 1) + v2 * v2 / (incumbent.n - 1));
  } else {  // no noise at all: any advantage is certain
    comparison.t = std::numeric_limits<double>::infinity();
    comparison.df = std::numeric_limits<double>::infinity();
  }
  return comparison;
}

// z such that P(Z > z) = p for a standard normal Z, p in (0, 0.5]
// (Acklam's rational approximation, relative error < 1.2e-9; the tail
// formula keeps it accurate for the tiny p of a Bonferroni correction).
double normal_upper_quantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  p = std::clamp(p, 1e-300, 0.5);
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double q = p - 0.5, r = q * q;
  return -(((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

// A Student t statistic with `df` degrees of freedom -> the standard normal
// deviate of the same tail probability (Wallace's approximation), so a
// Welch test on small cells is not read as if its variances were exact.
double t_to_z(double t, double df) {
  if (!(df < 1e7)) return t;
  const double z = std::sqrt(df * std::log1p(t * t / df)) * (8 * df + 1) / (8 * df + 3);
  return t < 0 ? -z : z;
}

}  // namespace pytheas::learner
