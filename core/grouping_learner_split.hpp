#pragma once
// The grouping learner's split search (core/grouping_learner.hpp): grows the
// rule tree top-down. At each node, every candidate feature not split on
// above proposes its branches (values with enough samples; the rest share
// the default branch); the significance tests (grouping_learner_significance)
// keep the splits where some decision beats the node's best one; the one that
// removes the most regret wins, preferring the previous split and then the
// coarser one when nearly as good. Leaves are named (keeping a previous name
// where the members hardly changed: grouping_learner_rules) and given owners.

#include <cstddef>
#include <vector>

#include "core/features.hpp"
#include "core/grouping_learner.hpp"
#include "core/grouping_learner_columns.hpp"
#include "core/grouping_learner_rules.hpp"

namespace pytheas::learner {

/// The rule tree over `columns` (candidate c is schema index candidates[c]),
/// with its groups' names, sizes and owners; `previous` (may be null) and
/// `previous_groups` keep names, splits and owners stable.
LearnedGrouping grow_rules(const FeatureSchema& schema, const GroupingLearnerOptions& options,
                           const std::vector<std::size_t>& candidates, const Columns& columns,
                           const LearnedGrouping* previous, PreviousGroups previous_groups);

}  // namespace pytheas::learner
