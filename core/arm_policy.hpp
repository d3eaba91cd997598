#pragma once
// ArmPolicy: the state and behaviour every policy shares: the arm table,
// input validation, time handling (non-decreasing policy time), lazy
// discounting, the observed score range used for normalization, forgetting
// of stale arms, snapshot assembly and the serialized state. Concrete
// policies supply the snapshot weights (assign) and, where they keep more
// state (sliding windows), the hooks below.
//
// Discounting is lazy: arm sums are stored multiplied by
// 2^(exponent(t) - reference_exponent_) (see DecayClock), so an update adds one
// scaled term and never touches other arms; when the factor would exceed 2^64
// every arm is rescaled by a power of two (exact in floating point) and the
// reference moves. Snapshots divide by the factor at `now`.
//
// Change detection (config().change_threshold > 0; ducb, ucb, egreedy and
// thompson): each arm has a ChangeDetector fed with its scores before they
// join its statistics. An alarm replaces the arm's statistics by the level
// the detector estimates (worth the observations that raised it, at most
// kLevelEvidence), and after a drop the other arms are forgotten
// (kAfterDropEvidence), so the group tries each again instead of trusting
// what it showed before the change.
//
// Not thread-safe (one owner); snapshots it returns are immutable and shared.

#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "core/arm_stats.hpp"
#include "core/change_detector.hpp"
#include "core/decay_clock.hpp"
#include "core/policy.hpp"
#include "core/state_codec.hpp"

namespace pytheas {

class ArmPolicy : public Policy {
 public:
  void update(const Outcome& outcome) final;
  SnapshotPtr snapshot(double now) final;
  std::string serialize(double now) const final;
  const PolicyConfig& config() const final { return *config_; }
  void limit_evidence(double max_count) final;
  std::size_t arm_count() const final { return names_->size(); }
  std::uint64_t changes_detected() const final { return changes_detected_; }
  void share_arm_names(ArmNamesPool& pool) final { names_ = names_->in(pool); }

  /// Reads the state serialize() wrote after the config, onto the time base
  /// where `now` is the writing instant (see restore_policy). Throws
  /// CorruptState. Only called on a freshly constructed policy.
  void restore(StateReader& reader, double now);

 protected:
  /// `clock`: how fast the observed score range forgets, and, with
  /// `decay_stats`, the arms' statistics too (otherwise they never decay).
  ArmPolicy(std::shared_ptr<const PolicyConfig> config, std::uint64_t seed, DecayClock clock,
            bool decay_stats = true);

  /// Fills one weight and one rank per arm (same order as `stats`).
  /// `scale` is the exploration scale: exploration * observed score range
  /// with `normalize`, else exploration.
  virtual void assign(std::span<const ArmView> stats, double scale, std::span<double> weights,
                      std::span<double> ranks) = 0;
  /// DecisionSnapshot's unseen_weight (default: rule 1, explore unseen).
  virtual double unseen_weight() const { return DecisionSnapshot::kExploreUnseen; }
  /// Adds arms the snapshot must hold even when never observed (fixed):
  /// may replace `names` by a longer list and append to `values`.
  virtual void pin_arms(ArmNames::Ptr& /*names*/, std::vector<ArmValues>& /*values*/) const {}
  /// Statistics of every arm as of `now` (`growth` = the lazy-discount factor
  /// at `now`). Default: the discounted sums.
  virtual void current_stats(double now, double growth, std::span<ArmView> out) const;
  /// Called after an observation was added to arm `arm` (already validated).
  virtual void on_observe(std::size_t /*arm*/, double /*score*/, double /*time*/) {}
  /// Called after arm `arm`'s evidence was scaled by `factor` (< 1) in
  /// limit_evidence: scale what else the policy keeps of it the same way.
  virtual void on_scale(std::size_t /*arm*/, double /*factor*/) {}
  /// Called after a new arm was appended to arms().
  virtual void on_arm_added() {}
  /// Called after forgetting kept exactly the arms with keep[i] != 0.
  virtual void on_compact(std::span<const std::uint8_t> /*keep*/) {}
  /// Writes the policy's own state with its times moved by `shift` (a
  /// multiple of time_quantum()).
  virtual void write_extra(StateWriter& /*writer*/, double /*shift*/) const {}
  virtual void read_extra(StateReader& /*reader*/) {}
  /// Moves the policy's own times by `delta` (a multiple of time_quantum()).
  virtual void on_shift(double /*delta*/) {}
  /// Moving state in time by a multiple of this keeps it exact (windows and
  /// batches are aligned to it); 0: any amount.
  virtual double time_quantum() const { return clock_.quantum(); }

  std::span<const ArmStats> arms() const { return {stats(), names_->size()}; }
  /// The arms' names, in the order of arms().
  const ArmNames& arm_names() const { return *names_; }
  Rng& rng() { return rng_; }

 private:
  static constexpr double kRebaseExponent = 64;

  /// The lazy-discount factor at `time` (rebasing first when it would be large).
  double growth_at(double time);
  void rebase(double exponent);
  /// `delta` rounded to a multiple of time_quantum().
  double aligned(double delta) const;
  /// Moves every time this policy holds by `delta` (aligned) and its
  /// exponents with them: the state means the same on the new time base.
  void shift_time(double delta);
  void forget(double now);
  double score_range(double now) const;
  void observe_range(double score, double time);
  /// Feeds `score` to arm `arm`'s detector (before the score joins the
  /// arm's statistics); on an alarm resets the arm to its new level.
  void detect_change(std::size_t arm, double score, double time, double growth);
  /// Scales arm `arm`'s evidence down to at most `max_count` observations.
  void cap_evidence(std::size_t arm, double count, double max_count);
  /// A block for `arms` arms: their statistics, then (with detection) their
  /// detectors, value-initialized. One heap block per group, not two: a
  /// group pays the allocator's overhead once.
  std::unique_ptr<std::byte[]> allocate_arms(std::size_t arms) const;
  ArmStats* stats() const { return reinterpret_cast<ArmStats*>(block_.get()); }
  /// The detectors, one per arm (null: detection off, or no arms).
  ChangeDetector* detectors() const {
    return detects_ && block_
               ? reinterpret_cast<ChangeDetector*>(block_.get() + names_->size() * sizeof(ArmStats))
               : nullptr;
  }

  // One of these per group: fields ordered to leave no padding.
  std::shared_ptr<const PolicyConfig> config_;
  Rng rng_;
  DecayClock clock_;
  ArmNames::Ptr names_;                 // shared with snapshots; replaced when arms change
  std::unique_ptr<std::byte[]> block_;  // per name, same order: stats(), then detectors()
  double last_time_ = 0;                // latest update time
  double reference_exponent_ = 0;
  double cached_exponent_ =
      std::numeric_limits<double>::quiet_NaN();  // growth_at() memo, derived data
  double cached_growth_ = 1;
  double range_low_ = 0;
  double range_high_ = 0;
  double range_exponent_ = 0;  // clock_ exponent when the range was last updated
  std::uint64_t snapshot_version_ = 0;
  std::uint64_t changes_detected_ = 0;  // since this object was made (not persisted)
  bool decay_stats_;
  bool detects_;            // change detection on: block_ holds detectors()
  bool caps_observations_;  // config().max_observations applies (not ucb, swucb)
  bool started_ = false;    // any update yet
  bool has_range_ = false;
};

/// The config fields of the serialized state (shared by serialize/restore).
void write_policy_config(StateWriter& writer, const PolicyConfig& config);
PolicyConfig read_policy_config(StateReader& reader);

}  // namespace pytheas
