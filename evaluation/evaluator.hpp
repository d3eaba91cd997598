#pragma once
// evaluate_targets: every estimate `pytheas evaluate` makes for a list of
// target policies on one sample set: for `logged` the on-policy mean; for a
// target stationary on the log IPS, SNIPS, DR and replay; for a learning
// target replay only. A target that never agrees with the log (it never
// gives the logged decision a chance, or never picks it) gets an error
// message instead of estimates.
// Pure function; deterministic for a given seed.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "evaluation/bootstrap.hpp"
#include "evaluation/estimate.hpp"
#include "evaluation/replay_estimator.hpp"
#include "evaluation/sample_set.hpp"
#include "evaluation/target_policy.hpp"

namespace pytheas::evaluation {

struct EvaluatorOptions {
  BootstrapOptions bootstrap;
  double snapshot_interval_s = 0;  ///< replay: least time between a group's snapshots
  /// replay: the target's clock runs at the kept share of the log's
  /// (replay_estimator.hpp), so a discount sees the live density.
  bool compress_time = true;
  /// replay: the targets learn their grouping (null: the sample set's groups).
  std::optional<LearnedReplayGrouping> learned;
  /// replay: runs averaged per target; learning targets also get the
  /// sparsity bound (replay_estimator.hpp) when the clock is compressed.
  std::size_t replay_runs = 1;
  /// Called after each target with (targets done, targets).
  std::function<void(std::size_t, std::size_t)> progress;
};

struct TargetResult {
  std::string policy;
  bool stationary = false;
  std::vector<Estimate> estimates;
  std::string error;  ///< non-empty: no estimate (the target never agrees with the log)
  /// Non-empty: the replay's target piles onto one decision far beyond what
  /// the log ever saw, so the estimate is optimistic if load degrades a
  /// decision (herding; docs/EVALUATION.md, assumption 1).
  std::string warning;
};

std::vector<TargetResult> evaluate_targets(const SampleSet& set,
                                           const std::vector<TargetPolicy>& targets,
                                           const EvaluatorOptions& options);

}  // namespace pytheas::evaluation
