#pragma once
// Policy: one group's exploration-exploitation (E2) state. The live node's
// group actor and the simulator both drive policies through this interface,
// so there is exactly one implementation of every policy.
//
// Time is in seconds on any clock the caller likes (wall clock on a node,
// trace time in the simulator), non-decreasing across calls; an update whose
// time is earlier than the last one is applied at the last time.
// Scores are QoE: higher is better (callers negate costs).
// Not thread-safe: one owner (an actor, the simulator loop) calls it; other
// threads read the snapshots it hands out.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/arm_names_pool.hpp"
#include "core/decision_snapshot.hpp"

namespace pytheas {

/// Policy kinds and their parameters. Unused fields are ignored by a kind.
/// Defaults are ours (docs/POLICIES.md explains them); `original_ducb()`
/// returns the original Pytheas' settings.
struct PolicyConfig {
  /// ducb | swucb | ucb | egreedy | thompson | random | fixed
  std::string kind = "ducb";

  // Discounted UCB (ducb). Discount per elapsed time: weights halve every
  // `half_life_s`. When `batch_s` > 0 the discount is applied in steps at
  // batch boundaries instead: multiply by `batch_discount` once per `batch_s`
  // of elapsed time (the original: 0.8 per 2 s).
  double half_life_s = 60;
  double batch_s = 0;
  double batch_discount = 0.8;

  // UCB family (ducb, swucb, ucb): index = mean + B * sqrt(2 ln N / n_i).
  // With `normalize` the effective B is exploration * (observed score range),
  // so B needs no tuning per QoE scale; without it B = exploration (the
  // original: B = 1000 on raw scores).
  double exploration = 0.1;  // measured best on switching and trace benchmarks (docs/POLICIES.md)
  bool normalize = true;
  /// Snapshot weights come from a list of `pick_list` picks, each added as a
  /// virtual pull before the next (the original: 10). 1 = pure argmax.
  int pick_list = 10;

  // Sliding-window UCB (swucb): only observations in the last window count.
  double window_s = 120;

  // epsilon-greedy: explore uniformly with probability epsilon.
  double epsilon = 0.1;

  // Thompson sampling (Gaussian posterior per arm); snapshot weights are the
  // share of `thompson_draws` posterior draws each arm wins.
  int thompson_draws = 64;

  // fixed: always this decision when it is a candidate (else rule 3's rank).
  std::string fixed_decision;

  /// Arms not observed for longer than this are forgotten (0 = never), so a
  /// decision that stops being offered does not occupy state forever.
  double forget_after_s = 3600;

  /// Change detection (core/change_detector.hpp): per arm, a two-sided CUSUM
  /// on the arm's standardized scores; past this threshold (in standard
  /// deviations) the arm's statistics are replaced by its new level and the
  /// other arms keep at most a few observations' weight, so they are tried
  /// again. 0 = off. The default is the measured setting
  /// (kTestedChangeThreshold, docs/POLICIES.md "Change detection"): it halves
  /// the excess cost of the minute after an outage or a swap and costs
  /// nothing on stationary traces; where costs swing with load it costs
  /// ~3.5% (the sweep's load scenario). ducb, ucb, egreedy, thompson.
  double change_threshold = 10;

  /// Memory in observations as well as in time: each arm counts for at most
  /// this many observations (0 = no limit), so a busy group forgets a change
  /// as fast, in observations, as a quiet one does by its half-life. 200:
  /// chosen by scripts/bench-adaptivity (docs/POLICIES.md); it binds only
  /// above ~2.3 reports/s per arm with the 60 s half-life. ducb, egreedy,
  /// thompson (ucb never forgets, swucb forgets by its window).
  double max_observations = 200;

  /// The original Pytheas decision maker: ducb, 0.8 per 2 s batch, B = 1000 on
  /// raw scores, 10-pick lists.
  static PolicyConfig original_ducb();

  bool operator==(const PolicyConfig&) const = default;
};

/// The change_threshold whose false-alarm rate and detection delays
/// docs/POLICIES.md states.
inline constexpr double kTestedChangeThreshold = 10;

/// One observed outcome.
struct Outcome {
  std::string_view decision;
  double score = 0;  ///< QoE, higher is better; must be finite
  double time = 0;   ///< seconds
  /// When non-empty, the candidates the decision was chosen from; a decision
  /// not among them is rejected (InvalidInput).
  Candidates candidates = {};
};

class Policy {
 public:
  virtual ~Policy() = default;

  /// Learns from one outcome. Throws InvalidInput (state unchanged) on a
  /// non-finite score, an empty decision, or a decision not among non-empty
  /// `candidates`. A never-seen decision becomes a new arm.
  virtual void update(const Outcome& outcome) = 0;

  /// An immutable snapshot of the current decision state as of `now`.
  virtual SnapshotPtr snapshot(double now) = 0;

  /// Full state (config, arms, statistics, RNG) as bytes: versioned and
  /// checksummed. Times are written as ages relative to `now` (format 3), not
  /// as instants of this policy's clock, so the state means the same on a
  /// process or host whose clock differs: restore_policy(serialize(t), u)
  /// continues as this would, with every time moved by u - t.
  virtual std::string serialize(double now) const = 0;

  virtual const PolicyConfig& config() const = 0;

  /// Number of arms currently held.
  virtual std::size_t arm_count() const = 0;

  /// Shifts found by change detection since this object was made (restores
  /// start at 0): for metrics and tests.
  virtual std::uint64_t changes_detected() const { return 0; }

  /// From now on keeps its arm names in `pool`, shared with every other
  /// policy using it that has the same arms (a node's groups usually do).
  virtual void share_arm_names(ArmNamesPool& pool) = 0;

  /// Makes this state a prior for a new group (a regroup's child starts from
  /// its parent's): every arm keeps its mean but counts for at most
  /// `max_count` observations, so the group's own reports outweigh it after a
  /// few per arm. A parent's counts (hundreds to thousands of observations of
  /// a *mixture* of groups) would otherwise keep the child on the parent's
  /// choice for minutes.
  virtual void limit_evidence(double max_count) = 0;

  /// Convenience for single-threaded callers (tests, simulator):
  /// snapshot(now)->pick(candidates, rng).
  PickResult pick(Candidates candidates, double now, Rng& rng) {
    return snapshot(now)->pick(candidates, rng);
  }
};

/// Builds a policy. Throws InvalidInput on an unknown kind or a parameter out
/// of range (e.g. half_life_s <= 0, epsilon outside [0,1]); the message names it.
std::unique_ptr<Policy> make_policy(const PolicyConfig& config, std::uint64_t seed);

/// Same, sharing one immutable config between many policies (a node with
/// 100k groups keeps one copy instead of one per group). Throws InvalidInput
/// like the overload above, or on a null config.
std::unique_ptr<Policy> make_policy(std::shared_ptr<const PolicyConfig> config, std::uint64_t seed);

/// Throws InvalidInput naming the first field of `config` out of range.
void validate_policy_config(const PolicyConfig& config);

/// Restores a policy from serialize() output onto the caller's clock: `now`
/// is the caller's time of the instant the state was written (its own now,
/// or earlier by however long the state waited). A format 1-2 state (absolute
/// times of its writer's clock) is moved so that its last update lands at
/// `now`. Throws CorruptState naming the failed check (magic, version,
/// checksum, truncation, bad field).
std::unique_ptr<Policy> restore_policy(std::string_view bytes, double now);

/// How many observations per arm a new group's inherited state counts for
/// (Policy::limit_evidence): a few, so a child starts from its parent's
/// estimates yet follows its own reports within seconds (docs/POLICIES.md).
inline constexpr double kInheritedEvidence = 5;

/// The policy a new group starts from when it inherits `parent` (serialize()
/// output): the same policy, its evidence limited to kInheritedEvidence per
/// arm. Throws CorruptState like restore_policy().
std::unique_ptr<Policy> inherit_policy(std::string_view parent, double now);

/// inherit_policy(parent, now), serialized as of `now`.
std::string inherited_policy_state(std::string_view parent, double now);

/// Same; when the stored config equals `*shared`, the policy uses `shared`
/// instead of a copy of its own (a restored group shares its settings).
std::unique_ptr<Policy> restore_policy(std::string_view bytes, double now,
                                       std::shared_ptr<const PolicyConfig> shared);

}  // namespace pytheas
