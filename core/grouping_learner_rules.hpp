#pragma once
// The grouping learner's rule tree (core/grouping_learner.hpp) apart from its
// growth: the names of its conditions, its text form (format_rules), and
// how the previous grouping's groups map onto a learn's samples, so that a
// new group with the same members keeps its old name.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/features.hpp"
#include "core/grouping.hpp"
#include "core/grouping_learner_columns.hpp"
#include "core/grouping_sample.hpp"

namespace pytheas::learner {

/// Appends a value to a group name: escaped as in feature-list keys, and '*'
/// (which names a default branch) as %2A.
void append_name_value(std::string& out, std::string_view value);

// Which group of the previous grouping each sample falls in, so a new group
// with (nearly) the same members can keep its old name.
struct PreviousGroups {
  std::vector<std::uint32_t> group_of_row;  // empty: the previous rules cannot be applied
  std::vector<std::string> names;           // by group id
  std::vector<std::size_t> rows;            // samples per group id
};

/// The groups of any grouping, by its keys (slower than map_previous_rules:
/// one key() per sample).
PreviousGroups groups_of(const Grouping& grouping, std::span<const GroupingSample> samples);

/// The groups of the previous rule tree `root` over the interned samples; an
/// empty group_of_row when some feature it splits on is not a candidate (its
/// values are not interned).
PreviousGroups map_previous_rules(const RuleNode& root, const FeatureSchema& schema,
                                  const std::vector<std::size_t>& candidates,
                                  const Columns& columns, const std::vector<Interner>& interners);

}  // namespace pytheas::learner
