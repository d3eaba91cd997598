#pragma once
// Estimate: one estimator's figure for one target policy: the estimated mean
// score (higher is better), its bootstrap interval, the effective sample size
// and how many logged sessions agreed with the target. A plain value.

#include <cmath>
#include <cstddef>
#include <string>

namespace pytheas::evaluation {

struct Estimate {
  std::string estimator;  ///< ips | snips | dr | replay | on-policy
  double value = NAN;
  double ci_low = NAN;
  double ci_high = NAN;
  /// IPS family: (sum of weights)^2 / sum of squared weights; replay: the
  /// events kept; on-policy: the samples.
  double n_effective = 0;
  /// Samples where the target could have made the logged choice (stationary:
  /// positive probability; replay: it picked the logged decision).
  std::size_t agree = 0;
  /// Replay of a learning target with ReplayRepeat::sparsity_bound: the
  /// halving extrapolation (NaN otherwise).
  double sparsity_bound = NAN;
  /// Replay: the largest share of one decision among the kept sessions of a
  /// 60 s window (of the samples' clock) holding at least 20 of them; NaN
  /// when none does. How much the target piles onto one decision.
  double peak_share = NAN;
};

}  // namespace pytheas::evaluation
