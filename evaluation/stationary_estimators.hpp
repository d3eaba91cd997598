#pragma once
// Off-policy estimates of a stationary target's mean score from logged
// propensities (Horvitz-Thompson style). With w_i = pi(a_i|x_i) / p_i, the
// target's probability of the logged choice over the logging propensity:
//   IPS    (1/n) sum w_i r_i                      unbiased; high variance
//   SNIPS  sum w_i r_i / sum w_i                  self-normalized; small bias
//   DR     (1/n) sum [ sum_a pi(a|x_i) m(g_i,a) + w_i (r_i - m(g_i,a_i)) ]
//          doubly robust with the per-group RewardModel m
// Intervals: percentile bootstrap over sessions (the reward model is fitted
// once, not per resample). n_effective = (sum w)^2 / sum w^2.
// Pure functions.

#include <vector>

#include "evaluation/bootstrap.hpp"
#include "evaluation/estimate.hpp"
#include "evaluation/reward_model.hpp"
#include "evaluation/target_policy.hpp"

namespace pytheas::evaluation {

/// IPS, SNIPS and DR for a target that is_stationary_on(set) (not `logged`).
/// Each Estimate's `agree` counts the sessions with w_i > 0; when it is 0 the
/// values are NaN (the target never agrees with the log).
std::vector<Estimate> stationary_estimates(const SampleSet& set, const TargetPolicy& target,
                                           const RewardModel& model,
                                           const BootstrapOptions& options);

/// The logging policy's own mean score (all weights 1), estimator "on-policy".
Estimate on_policy_estimate(const SampleSet& set, const BootstrapOptions& options);

}  // namespace pytheas::evaluation
