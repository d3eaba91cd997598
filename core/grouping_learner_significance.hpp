#pragma once
// The grouping learner's significance tests (core/grouping_learner.hpp): a
// split is kept only where a decision beats the node's best decision by a
// margin no noise explains. Per cell, the scores' sufficient statistics; per
// comparison, a Welch t test read as a normal deviate, against a Bonferroni
// threshold over every comparison tried at the node.

#include <algorithm>

namespace pytheas::learner {

// Per-decision sufficient statistics of the scores in one cell.
struct Cell {
  double n = 0, sum = 0, sum_sq = 0;
  void add(double x) {
    n += 1;
    sum += x;
    sum_sq += x * x;
  }
  void add(const Cell& other) {
    n += other.n;
    sum += other.sum;
    sum_sq += other.sum_sq;
  }
  // Sum of squared deviations from the cell mean.
  double sse() const { return n > 0 ? std::max(0.0, sum_sq - sum * sum / n) : 0.0; }
  double mean() const { return sum / n; }
  // Sample variance (n - 1); needs n >= 2.
  double variance() const { return sse() / (n - 1); }
};

// One comparison of a child's decision with the node's best decision in that
// child: the Welch statistic, its degrees of freedom and the advantage (the
// difference of the means). Only comparisons with an advantage of at least
// the minimum effect are kept: the others cannot pass.
struct Comparison {
  double t = 0, df = 0, advantage = 0;
};

/// The Welch comparison of `challenger` with `incumbent`: the difference of
/// their means, the t statistic and its degrees of freedom (both infinite
/// when neither cell has any noise). Both cells need n >= 2.
Comparison welch(const Cell& challenger, const Cell& incumbent);

/// z such that P(Z > z) = p for a standard normal Z, p in (0, 0.5].
double normal_upper_quantile(double p);

/// A Student t statistic with `df` degrees of freedom -> the standard normal
/// deviate of the same tail probability.
double t_to_z(double t, double df);

}  // namespace pytheas::learner
