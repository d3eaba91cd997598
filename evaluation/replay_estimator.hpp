#pragma once
// The replay method (Li, Chu, Langford, Wang: "Unbiased offline evaluation of
// contextual-bandit-based news article recommendation algorithms", WSDM
// 2011), for targets that learn as they go (D-UCB, ε-greedy, ...): the target
// runs over the logged sessions in time order, one core Policy per group as
// on a node; at each session it picks among the logged candidates; when it
// picks the logged decision the session is kept, its reward counts toward
// the estimate and reaches the target's policy at the logged report time (so
// the target learns with the delays the log saw); otherwise the session is
// skipped as if it never happened.
// Li et al. assume uniformly random logging. For any other logging policy a
// session that agrees is kept with probability p_min / p (rejection
// sampling; p its propensity, p_min the smallest propensity in the log), so
// every kept session is as if logged uniformly at rate p_min and the kept
// stream stays an unbiased sample of sessions.
// The kept stream is a p_min share of the sessions: a target that learns by
// time (a discount, a window) would see a group's sessions p_min times as
// sparse as it would live, so it would hold fewer observations and explore
// longer. With `compress_time` (the default) the target's clock runs at
// p_min times the log's (a session at log time t is at p_min * t for the
// target) and each reward reaches it the logged delay after its session:
// its discount then sees the live density, and reports lag by as many
// sessions as they did live. The estimate is the mean
// reward of the kept sessions; its interval a moving-block bootstrap over
// them (blocks of about n^(1/3): a learning policy's rewards are dependent).
// With a LearnedReplayGrouping the target's groups are not fixed: like a node
// with a learning label config (and `pytheas simulate`'s default), it starts
// from `start_by` and regroups through the same core/Regrouper every
// `interval_s` of the target's time, the first after `warmup_s`; each new
// group starts from its parent's state (inherit_policy) and rewards in flight
// for a retired group go to its heir. The regrouper learns from every logged
// report, each reaching it when its session's time comes on the target's
// clock: as many samples by then as the live node would have had (the kept
// sessions alone are a p_min share: too few to ever reach `min_samples` on a
// log as long as the run being estimated), but drawn from the logging
// policy's picks rather than the target's own.
// Deterministic for a given seed. Pure functions.

#include <cstdint>
#include <vector>

#include "core/policy.hpp"
#include "core/regrouper.hpp"
#include "evaluation/bootstrap.hpp"
#include "evaluation/estimate.hpp"
#include "evaluation/sample_set.hpp"

namespace pytheas::evaluation {

/// A learned grouping for the replayed target (the node's `grouping:` with
/// learning on; defaults are the default label config's).
struct LearnedReplayGrouping {
  std::vector<std::string> start_by = {"Asn"};
  RegrouperOptions regrouper;  ///< window, min_samples, learner knobs
  double warmup_s = 30;        ///< target time of the first regroup
  double interval_s = 30;      ///< target time between regroups
};

/// How replay_estimate repeats the replay (the default: once, Li et al.).
struct ReplayRepeat {
  /// Independent runs (seeds): the estimate is their mean; the spread between
  /// them widens the interval on both sides.
  std::size_t runs = 1;
  /// For targets that learn: extend the interval's upper end to the halving
  /// extrapolation (Estimate::sparsity_bound).
  bool sparsity_bound = false;
};

struct ReplayRun {
  std::vector<double> rewards;      ///< of the kept sessions, in time order
  std::size_t agree = 0;            ///< sessions where the target picked the logged decision
  double acceptance = 1;            ///< p_min: kept share of agreeing sessions at propensity 1
  std::size_t regroups = 0;         ///< learned grouping: regroups that changed the rules
  std::size_t groups = 0;           ///< groups the target ever ran
  std::vector<std::uint32_t> kept;  ///< indices into set.samples, in time order
};

/// The largest share of one decision among `samples` (indices into
/// set.samples, in time order; null: all of them) in a 60 s window of the
/// samples' clock holding at least 20 of them; NaN when no window does.
double peak_decision_share(const SampleSet& set,
                           const std::vector<std::uint32_t>* samples = nullptr);

/// Runs `config` (one policy per group of `set`) over the sessions.
/// `snapshot_interval_s`: least time between a group's snapshots in the
/// target's time (0: after every update, as `pytheas simulate` by default).
/// `learned`: group the target by a learned grouping instead of `set`'s
/// groups (null: `set`'s). `thin` < 1: the run keeps a random `thin` share
/// of the sessions and its clock runs `thin` times slower still (a stream as
/// dense as the full log's, `thin` times as long). Throws InvalidInput on a bad config or a learned
/// grouping naming a feature the log lacks.
ReplayRun replay_run(const SampleSet& set, const PolicyConfig& config, std::uint64_t seed,
                     double snapshot_interval_s = 0, bool compress_time = true,
                     const LearnedReplayGrouping* learned = nullptr, double thin = 1);

/// replay_run's mean with its interval, estimator "replay"; NaN values when
/// no session was kept. With `repeat`: the mean of `repeat.runs` runs, the
/// interval widened by their spread, and with `sparsity_bound` its upper end
/// at least the halving extrapolation: a run over the kept p_min share of
/// the sessions is 1/p_min times shorter than the live run it estimates, so
/// a learner's start and each adaptation weigh more in it and the plain
/// estimate is pessimistic; the same runs on half the log (half as long
/// again) show by how much, and extrapolating that loss as 1/length to the
/// live length gives value + (1 - p_min) (value - value_half). On the traces
/// of docs/EVALUATION.md that extrapolation overshoots the truth (the bias
/// is smaller than 1/length), so it bounds the interval rather than moving
/// the estimate.
Estimate replay_estimate(const SampleSet& set, const PolicyConfig& config,
                         const BootstrapOptions& options, double snapshot_interval_s = 0,
                         bool compress_time = true, const LearnedReplayGrouping* learned = nullptr,
                         const ReplayRepeat& repeat = {});

}  // namespace pytheas::evaluation
