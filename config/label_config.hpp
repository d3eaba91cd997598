#pragma once
// LabelConfig: what a node's groups look like: the feature schema, how
// sessions are grouped, which policy each group runs, and the limits of the
// group lifecycle. Loaded from YAML (--labels FILE, see
// config/labels.example.yaml); with no file, the original Pytheas' defaults.
// A plain value: copy it, compare it, share it read-only between threads.

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/features.hpp"
#include "core/grouping.hpp"
#include "core/policy.hpp"
#include "core/regrouper.hpp"

namespace pytheas {

/// A config file that cannot be used. what() is "FILE:LINE: FIELD: problem".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A policy for the groups whose key matches `match` (a glob: * and ?).
struct GroupPolicyRule {
  std::string match;
  PolicyConfig policy;
};

/// Whether and how a node learns its grouping (core/Regrouper) from its
/// reports, starting from `group_by`. Defaults work for a live node and for a
/// trace replayed at ~60x: the first regroup comes 30 s after start-up once
/// 5000 reports were sampled.
struct GroupingLearning {
  /// Learn (the default): the grouping starts as `group_by` and follows the
  /// learned rules. False (`learn: false`, or a `rules:` tree): fixed grouping.
  bool enabled = true;
  double regroup_interval_s = 30;  ///< wall-clock time between regroups
  double sample_rate = 1;          ///< share of applied reports sampled into the window, (0, 1]
  /// Learner knobs, window (200000 samples) and min_samples (5000).
  RegrouperOptions regrouper;
};

struct LabelConfig {
  std::string source = "<defaults>";  ///< file it came from, for messages
  FeatureSchema schema = FeatureSchema::original();

  /// Grouping: a feature list (default [Asn], as the original), or a rule tree
  /// when `rules` is set. With learning, the starting grouping and fallback.
  std::vector<std::string> group_by = {"Asn"};
  std::shared_ptr<const RuleNode> rules;
  /// Learning the grouping (on unless `learn: false` or `rules`).
  GroupingLearning learning;

  PolicyConfig default_policy;
  std::vector<GroupPolicyRule> group_policies;  ///< first match wins

  double passivate_after_s = 600;              ///< idle groups go to disk after this
  std::size_t max_active_groups = 100000;      ///< LRU groups are passivated beyond this
  double checkpoint_interval_s = 30;           ///< periodic write of changed groups
  std::size_t report_queue_capacity = 100000;  ///< accepted-not-applied reports
  double event_window_s = 600;                 ///< how long an event id can be reported
  std::size_t event_capacity = 10000000;       ///< reported event ids remembered at most

  /// The grouping function this config describes (with learning: the
  /// starting grouping, `group_by`).
  std::unique_ptr<Grouping> make_grouping() const;

  /// The policy for a group key: the first matching group_policies entry, else
  /// default_policy.
  const PolicyConfig& policy_for(std::string_view group_key) const;

  /// The group names at a rule tree's leaves (sorted, unique); empty for a
  /// feature-list grouping or a learning config, whose groups appear on demand.
  std::vector<std::string> rule_groups() const;

  /// Whether this grouping can produce `key`: used on reload to retire the
  /// groups the new grouping no longer makes, and at recovery to replay only
  /// reports some group can take. With learning, true for every key: a
  /// learned grouping's keys are not known in advance, so a reload retires
  /// nothing and every logged report is replayed; the next regroup re-parents
  /// groups (its heir map). A reload that changes `by` (!same_grouping)
  /// restarts learning from the new `by`: retire with initial_can_produce().
  bool can_produce(std::string_view key) const;

  /// Whether the starting grouping (`rules`, else `group_by`) produces `key`,
  /// learning or not.
  bool initial_can_produce(std::string_view key) const;

  /// Whether `other` groups sessions the same way: same `group_by`, same
  /// `rules` and learning on or off in both (learner knobs aside). A reload
  /// that keeps the grouping keeps a node's Regrouper and learned groups;
  /// one that changes it restarts learning from the new `group_by`.
  bool same_grouping(const LabelConfig& other) const;
};

/// Parses YAML text; `source` names it in errors. Throws ConfigError.
LabelConfig parse_label_config(const std::string& yaml, const std::string& source);

/// Reads and parses a file. Throws ConfigError (also when unreadable).
LabelConfig load_label_config(const std::string& path);

/// What a reload (SIGHUP) cannot apply: one "FILE:LINE: FIELD: needs a
/// restart (why)" message per key of `next` (read from next.source) whose
/// value differs from `running`'s and that only takes effect at start; empty
/// when every change takes effect at reload. Restart-only keys: `features`,
/// `limits.event_window_s` and `limits.event_capacity` (the event journal and
/// the decision log's join window are sized at start) and, on a cluster member
/// (`cluster_member`), every `grouping` key (the cluster's grouping is set up
/// at start). docs/OPERATIONS.md's reload table lists every key.
std::vector<std::string> reload_refusals(const LabelConfig& running, const LabelConfig& next,
                                         bool cluster_member);

/// A rule tree as one line of YAML (flow style, every scalar double-quoted,
/// group names and values %XX-escaped so any bytes survive), which
/// parse_rules() reads back exactly: how learned rules travel between nodes.
std::string rules_to_yaml(const RuleNode& root);

/// Parses rules_to_yaml output against `schema` (decoding the %XX escapes).
/// Throws ConfigError naming `source`.
std::shared_ptr<const RuleNode> parse_rules(const std::string& yaml, const FeatureSchema& schema,
                                            const std::string& source);

/// Glob match with '*' (any run) and '?' (one char).
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace pytheas
