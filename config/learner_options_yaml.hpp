#pragma once
// Reads the grouping learner's knobs (core/grouping_learner.hpp) from a YAML
// map: shared by the label config's `grouping:` section and the cluster
// file's `learner:` section, so both spell and range-check them alike.
// Stateless; errors are ConfigError "FILE:LINE: FIELD: problem".

#include <yaml-cpp/yaml.h>

#include <string>

#include "config/yaml_context.hpp"
#include "core/features.hpp"
#include "core/grouping_learner.hpp"

namespace pytheas {

/// Reads those of min_group_size, max_depth, features, false_split_rate,
/// min_effect and min_cell_samples that `map` holds into `options`; error
/// fields are `prefix` + key (e.g. "grouping.max_depth"). With a `schema`, a
/// feature not in it is an error naming the list item.
void read_learner_options(const Context& ctx, const YAML::Node& map, const std::string& prefix,
                          const FeatureSchema* schema, GroupingLearnerOptions& options);

}  // namespace pytheas
