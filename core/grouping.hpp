#pragma once
// Grouping: maps a session's features to its group key. Sessions with the same
// key share one E2 policy (one group actor on a node). Two forms:
//   * a feature list, e.g. [Asn] or [Asn, City]; [] is one global group;
//   * a rule tree like the original's grouping rules: at each node a feature,
//     a table value -> subtree or group name, and a default branch.
// Implementations are immutable after construction and safe to call from many
// threads at once.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/features.hpp"

namespace pytheas {

class Grouping {
 public:
  virtual ~Grouping() = default;

  /// The group key of a session. `features` is in the schema order the
  /// grouping was built with (size == schema.size()).
  ///
  /// Feature-list keys are "Name=value" joined by ';' in list order, e.g.
  /// "Asn=7922;City=Boston"; the empty list gives "global". Characters ';',
  /// '=', '%' and bytes outside printable ASCII in values are %XX-escaped, so
  /// distinct feature values never collide. Rule-tree keys are the group names
  /// at the leaves.
  virtual std::string key(FeatureView features) const = 0;

  /// A one-line human description, e.g. "features [Asn, City]".
  virtual std::string describe() const = 0;
};

/// Appends `text` to `out` escaped as in group keys: ';', '=', '%' and bytes
/// outside printable ASCII become %XX. Shared by every producer of group keys
/// (feature lists here, learned rule trees in core/grouping_learner).
void append_group_key_escaped(std::string& out, std::string_view text);

/// Builds a feature-list grouping. Throws InvalidInput naming any feature not
/// in `schema`, or a feature listed twice.
std::unique_ptr<Grouping> make_feature_grouping(const FeatureSchema& schema,
                                                const std::vector<std::string>& features);

/// A node of a grouping rule tree: either a leaf (a group name) or a split on
/// one feature.
struct RuleNode {
  struct Split {
    std::string feature;                    ///< feature name (must be in the schema)
    std::map<std::string, RuleNode> table;  ///< value -> subtree
    std::unique_ptr<RuleNode> otherwise;    ///< default branch; required
  };
  std::variant<std::string, Split> node;  ///< group name, or a split
};

/// Builds a rule-tree grouping. Throws InvalidInput on an unknown feature, a
/// split without a default branch, or an empty group name.
std::unique_ptr<Grouping> make_rule_tree_grouping(const FeatureSchema& schema,
                                                  std::shared_ptr<const RuleNode> root);

}  // namespace pytheas
