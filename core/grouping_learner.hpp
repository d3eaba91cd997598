#pragma once
// GroupingLearner: learns the grouping (which sessions share one E2 policy)
// from sampled sessions, the way the Pytheas backend does, and says which
// frontend cluster should own each group.
//
// Sessions for which the same decision is best should share a group; a
// feature earns a split only where it changes *which decision is best*. The
// learner grows a rule tree top down: at each node it finds the node's best
// decision (highest mean score), then for every candidate feature not used
// above, every branch (child) and every other decision, it asks whether the
// child would do significantly better with that decision than with the
// node's best: a one-sided Welch test on the two per-(child, decision) means,
// the child's own samples only, both cells holding at least
// `min_cell_samples`, the advantage at least `min_effect` (in units of the
// samples' within-decision standard deviation), significance Bonferroni-
// corrected over every (feature, branch, decision) comparison tried at the
// node (`false_split_rate` per node). A feature splits when some child
// passes; its gain is the regret the split removes (sum over passing children
// of samples x advantage). Offsets (a value that moves every decision's score
// alike) change no comparison, so they never split. Values with fewer than
// `min_group_size` samples fall into the split's default branch, so rare
// values back off to a coarser group; every group that holds samples has at
// least `min_group_size` of them. docs/GROUPING.md explains the knobs.
//
// Group names come from the path, with conditions in schema order:
// "Asn=7922;City=Boston", "Asn=7922;City=*" (a default branch), "global" (no
// split). Values are escaped as in feature-list keys, plus '*' as %2A. Given a
// `previous` grouping, the learner keeps its shape where the data allows it
// (same split feature when nearly as good, known values keep their branch,
// new values need a margin more samples), a group whose members are nearly
// those of a previous group keeps that group's name whatever its path, and
// each group keeps its owner unless another cluster clearly dominates: names,
// and so learned policy state, survive a regrouping when membership hardly
// changes. (Hence a name is a stable label; read the rules for its meaning.)
//
// Immutable after construction; learn() is const and may run on many threads
// at once.

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/features.hpp"
#include "core/grouping.hpp"
#include "core/grouping_sample.hpp"

namespace pytheas {

struct GroupingLearnerOptions {
  /// Fewest samples a group may hold (values with fewer go to the default
  /// branch). Must be >= 1.
  std::size_t min_group_size = 100;
  /// Features the learner may split on; empty: default_candidate_features().
  std::vector<std::string> candidate_features;
  /// Most splits on one path (>= 0; 0 gives one global group).
  std::size_t max_depth = 4;
  /// Family-wise false-split probability per node: each (feature, branch,
  /// decision) comparison tried at a node is tested at false_split_rate /
  /// (comparisons tried there) (Bonferroni). In (0, 1).
  double false_split_rate = 1e-4;
  /// Smallest advantage of a child's best decision over the node's best that
  /// counts, in units of the within-decision standard deviation of all the
  /// samples (>= 0): with millions of samples, tiny but significant effects
  /// are not worth smaller groups.
  double min_effect = 0.05;
  /// A (child, decision) mean is compared only with this many samples or more
  /// in both cells (>= 2): samples come from a bandit, which tries most
  /// decisions rarely in most groups.
  std::size_t min_cell_samples = 10;
  /// Among the splits that pass, one with fewer branches is preferred when
  /// its gain is at least (1 - margin) x the best gain (0..1): a coarser
  /// feature that explains as much (Asn rather than the cities within it).
  double coarser_split_margin = 0.1;
  /// With a previous grouping: keep its split feature at a node when that
  /// feature passes the tests and gains at least (1 - margin) x the best.
  double sticky_split_margin = 0.1;
  /// With a previous grouping: a value that had no branch there needs
  /// min_group_size x (1 + margin) samples to get one.
  double new_branch_margin = 0.25;
  /// With a previous grouping: a group keeps the name of a previous group
  /// when each holds at least 1 - tolerance of the other's samples (the
  /// previous rules applied to today's samples), even if the path changed,
  /// e.g. "Asn=7922;City=Boston" staying so after a split on City alone.
  /// In [0, 0.5).
  double rename_tolerance = 0.1;
  /// With a previous grouping: the previous owner keeps a group unless
  /// another cluster's share of its sessions exceeds the owner's by this.
  double owner_switch_margin = 0.1;

  /// Throws InvalidInput naming the first bad value.
  void validate() const;

  friend bool operator==(const GroupingLearnerOptions&, const GroupingLearnerOptions&) = default;
};

/// The schema's features minus the original's per-session measurements:
/// Time (unique per session) and BufRate, AvgBitrate, JoinTime (the session's
/// own QoE outcomes, not known when deciding).
std::vector<std::string> default_candidate_features(const FeatureSchema& schema);

/// What learn() returns: the rules, and per group its size and owner.
struct LearnedGrouping {
  /// The rule tree; make_rule_tree_grouping(schema, rules) makes it live.
  std::shared_ptr<const RuleNode> rules;
  /// Group -> the cluster that saw most of its samples (ties: the smallest
  /// name; hysteresis against `previous`). Groups none of whose samples named
  /// a cluster are absent unless `previous` gave them an owner.
  std::map<std::string, std::string> owner;
  /// Group -> samples in it. Every leaf is listed; only a default branch that
  /// no sample reached has size 0 (it is there for unseen values).
  std::map<std::string, std::size_t> sizes;
  /// The features the rules split on, in schema order.
  std::vector<std::string> split_features;
  std::size_t samples = 0;  ///< samples learned from
};

class GroupingLearner {
 public:
  /// Throws InvalidInput on bad options or a candidate feature not in `schema`.
  GroupingLearner(FeatureSchema schema, GroupingLearnerOptions options);

  /// Learns a grouping from `samples` (no samples: one "global" group). With
  /// `previous` (an earlier result of a learner with the same schema), keeps
  /// its shape, names and owners where the data allows. With
  /// `previous_grouping` (e.g. the feature list a node started from), a new
  /// group whose members nearly coincide with a group of that grouping keeps
  /// that group's key (instead of the groups of `previous`'s rules). Throws
  /// InvalidInput naming the first bad sample (wrong feature count, NaN or
  /// infinite score).
  LearnedGrouping learn(std::span<const GroupingSample> samples,
                        const LearnedGrouping* previous = nullptr,
                        const Grouping* previous_grouping = nullptr) const;

  const FeatureSchema& schema() const { return schema_; }
  const GroupingLearnerOptions& options() const { return options_; }

 private:
  FeatureSchema schema_;
  GroupingLearnerOptions options_;
  std::vector<std::size_t> candidates_;  // schema indices, ascending
};

/// A multi-line, indented rendering of a rule tree, for logs and docs:
///   Asn = AS1000:
///     City = AS1000-city0: Asn=AS1000;City=AS1000-city0
///     City = *: Asn=AS1000;City=*
///   Asn = *: Asn=*
std::string format_rules(const RuleNode& root);

}  // namespace pytheas
