#pragma once
// Regrouper: the one regrouping code path. It keeps the last `window` sampled
// sessions (a ring), learns a grouping from them when asked (GroupingLearner,
// passing its previous result so names, shapes and owners stay stable) and,
// when the rules changed, says where each group's state comes from: `parent`
// (new group -> the old group that held most of its samples: the new group
// starts from a copy of that group's learned state, never cold) and `heir`
// (old group -> the new group holding most of its samples: where a report
// still keyed under a retired group is applied). Both maps come from applying
// the grouping in force before and the new one to the window's samples.
//
// The simulator's learned grouping, the live node and the cluster backend all
// regroup through this class. Not thread-safe: one owner adds and regroups;
// the groupings it hands out are immutable and may be shared.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/features.hpp"
#include "core/grouping.hpp"
#include "core/grouping_learner.hpp"
#include "core/grouping_sample.hpp"
#include "core/grouping_sample_window.hpp"

namespace pytheas {

/// How a Regrouper learns (a label config's `grouping:` section).
struct RegrouperOptions {
  GroupingLearnerOptions learner;
  /// Samples kept (a ring: the most recent), >= 1.
  std::size_t window = 200000;
  /// Fewest samples in the window before a regroup learns at all (>= 1):
  /// below it, regroup() keeps the grouping in force. 5000 is ~25 groups'
  /// worth at the default min_group_size and comes within seconds of a
  /// replayed trace.
  std::size_t min_samples = 5000;

  /// Throws InvalidInput naming the first bad value (learner options included).
  void validate() const;

  friend bool operator==(const RegrouperOptions&, const RegrouperOptions&) = default;
};

/// One regrouping's outcome.
struct Regroup {
  std::shared_ptr<const Grouping> grouping;  ///< the new live grouping (rule tree)
  LearnedGrouping learned;                   ///< rules, sizes, owners, split features
  /// New key -> the key, under the grouping in force before, that held most
  /// of this new group's samples: the new group starts from that group's
  /// learned state. Keys of new groups with no sample in the window (a
  /// default branch nothing reached) are absent: they start cold.
  std::map<std::string, std::string> parent;
  /// Old key -> the new key holding most of its samples: where a report keyed
  /// under a retired key (in flight during the switch) is applied. Every old
  /// key with a sample in the window is listed, retired or not; a key the new
  /// grouping still produces keeps its reports whatever its heir.
  std::map<std::string, std::string> heir;
  double learn_seconds = 0;  ///< thread CPU time of the learn and the maps
};

/// The parent/heir maps between two groupings over the same samples (ties go
/// to the smallest key). Samples with the wrong feature count are skipped.
struct GroupTransition {
  std::map<std::string, std::string> parent;  ///< after-key -> before-key
  std::map<std::string, std::string> heir;    ///< before-key -> after-key
};
GroupTransition group_transition(const Grouping& before, const Grouping& after,
                                 std::span<const GroupingSample> samples, std::size_t schema_size);

class Regrouper {
 public:
  /// `initial` is the starting grouping (the label config's `by:` feature
  /// list), used until the first regroup and as the fallback; the first learn
  /// keeps its keys for groups whose members it keeps. Throws InvalidInput on
  /// bad options, an unknown candidate feature or a null `initial`.
  Regrouper(FeatureSchema schema, RegrouperOptions options,
            std::shared_ptr<const Grouping> initial);

  /// Adds a sample to the window. A sample with the wrong number of feature
  /// values or a NaN or infinite score is not added (counted in rejected()):
  /// one bad report never stops learning.
  void add(GroupingSample sample);

  /// Learns from the window. Returns the new grouping when its rules changed;
  /// nullopt when they did not (learned() still updates: sizes and owners
  /// may change without the rules) or there are fewer than min_samples.
  /// A learn that only merges groups in force (every one with at least
  /// min_group_size samples lies whole, 90% of its samples, in one new
  /// group) changes nothing, learned() included, when a new group absorbs
  /// two or more of them and one demonstrably wants another decision than
  /// the new group's pooled best (a one-sided Welch test on that group's
  /// samples, Bonferroni-corrected over every such comparison at 1%): lack of
  /// evidence for a split never merges such groups (counted in
  /// kept_on_merge()). A learn that splits or cuts across groups in force is
  /// taken whole.
  std::optional<Regroup> regroup();

  /// The grouping in force: `initial` until the first regroup that changed
  /// the rules, then the last learned rules.
  std::shared_ptr<const Grouping> current() const { return current_; }
  /// The last learn's result; null before the first learn.
  const LearnedGrouping* learned() const { return learned_ ? &*learned_ : nullptr; }
  std::size_t samples() const { return window_.size(); }
  std::uint64_t total_added() const { return window_.total_added(); }
  std::uint64_t rejected() const { return rejected_; }
  /// Learns refused because they would merge groups that differ.
  std::uint64_t kept_on_merge() const { return kept_on_merge_; }
  /// Thread CPU time of the last learn (0 before the first).
  double last_learn_seconds() const { return last_learn_seconds_; }
  const FeatureSchema& schema() const { return learner_.schema(); }
  const RegrouperOptions& options() const { return options_; }

 private:
  RegrouperOptions options_;
  GroupingLearner learner_;
  GroupingSampleWindow window_;
  std::shared_ptr<const Grouping> initial_, current_;
  std::optional<LearnedGrouping> learned_;
  std::uint64_t rejected_ = 0;
  std::uint64_t kept_on_merge_ = 0;
  double last_learn_seconds_ = 0;
};

/// Whether two rule trees are the same (features, tables, leaf names).
bool same_rules(const RuleNode& a, const RuleNode& b);

}  // namespace pytheas
