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

struct LabelConfig {
  std::string source = "<defaults>";  ///< file it came from, for messages
  FeatureSchema schema = FeatureSchema::original();

  /// Grouping: a feature list (default [Asn], as the original), or a rule tree
  /// when `rules` is set.
  std::vector<std::string> group_by = {"Asn"};
  std::shared_ptr<const RuleNode> rules;

  PolicyConfig default_policy;
  std::vector<GroupPolicyRule> group_policies;  ///< first match wins

  double passivate_after_s = 600;              ///< idle groups go to disk after this
  std::size_t max_active_groups = 100000;      ///< LRU groups are passivated beyond this
  double checkpoint_interval_s = 30;           ///< periodic write of changed groups
  std::size_t report_queue_capacity = 100000;  ///< accepted-not-applied reports
  double event_window_s = 600;                 ///< how long an event id can be reported
  std::size_t event_capacity = 1000000;        ///< event ids remembered at most

  /// The grouping function this config describes.
  std::unique_ptr<Grouping> make_grouping() const;

  /// The policy for a group key: the first matching group_policies entry, else
  /// default_policy.
  const PolicyConfig& policy_for(std::string_view group_key) const;

  /// The group names at a rule tree's leaves (sorted, unique); empty for a
  /// feature-list grouping, whose groups appear on demand.
  std::vector<std::string> rule_groups() const;

  /// Whether this grouping can produce `key`: used on reload to retire the
  /// groups the new grouping no longer makes.
  bool can_produce(std::string_view key) const;
};

/// Parses YAML text; `source` names it in errors. Throws ConfigError.
LabelConfig parse_label_config(const std::string& yaml, const std::string& source);

/// Reads and parses a file. Throws ConfigError (also when unreadable).
LabelConfig load_label_config(const std::string& path);

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
