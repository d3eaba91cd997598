#include "evaluation/evaluator.hpp"

#include <cstdio>

#include "evaluation/replay_estimator.hpp"
#include "evaluation/reward_model.hpp"
#include "evaluation/stationary_estimators.hpp"

namespace pytheas::evaluation {
namespace {

/// How far (as a share of sessions) a target's peak decision share may
/// exceed the log's before evaluate warns that herding would go unseen.
constexpr double kHerdingMargin = 0.15;

}  // namespace

std::vector<TargetResult> evaluate_targets(const SampleSet& set,
                                           const std::vector<TargetPolicy>& targets,
                                           const EvaluatorOptions& options) {
  const RewardModel model(set);
  const double log_peak = peak_decision_share(set);
  std::vector<TargetResult> results;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto& target = targets[t];
    TargetResult result;
    result.policy = target.name;
    if (target.kind == TargetPolicy::Kind::logged) {
      result.stationary = true;
      result.estimates.push_back(on_policy_estimate(set, options.bootstrap));
    } else {
      if (target.kind == TargetPolicy::Kind::fixed &&
          set.decision_id(target.config.fixed_decision) == set.decisions.size()) {
        result.error = "policy '" + target.name + "' never agrees with the log: decision '" +
                       target.config.fixed_decision + "' is never a candidate in it";
        results.push_back(std::move(result));
        if (options.progress) options.progress(t + 1, targets.size());
        continue;
      }
      result.stationary = is_stationary_on(target, set);
      if (result.stationary)
        result.estimates = stationary_estimates(set, target, model, options.bootstrap);
      result.estimates.push_back(replay_estimate(
          set, target.config, options.bootstrap, options.snapshot_interval_s, options.compress_time,
          options.learned ? &*options.learned : nullptr,
          // The sparsity bound extrapolates along the compressed clock's axis
          // (as dense a stream, longer): only with that clock.
          ReplayRepeat{options.replay_runs,
                       options.compress_time && target.kind == TargetPolicy::Kind::learning}));
      const double peak = result.estimates.back().peak_share;
      if (peak > log_peak + kHerdingMargin) {
        char text[320];
        std::snprintf(text, sizeof text,
                      "policy '%s' sends up to %.0f%% of a minute's sessions to one decision, the "
                      "log at most %.0f%%: if a decision degrades under load (herding), its "
                      "estimate is optimistic (the log cannot show it)",
                      target.name.c_str(), 100 * peak, 100 * log_peak);
        result.warning = text;
      }
      bool any = false;
      for (const auto& estimate : result.estimates) any = any || estimate.agree > 0;
      if (!any) {
        result.error = "policy '" + target.name +
                       "' never agrees with the log: it would have made the logged decision in "
                       "none of the " +
                       std::to_string(set.samples.size()) + " reported sessions";
        result.estimates.clear();
      }
    }
    results.push_back(std::move(result));
    if (options.progress) options.progress(t + 1, targets.size());
  }
  return results;
}

}  // namespace pytheas::evaluation
