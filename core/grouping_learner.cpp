#include "core/grouping_learner.hpp"

// The learner in parts: the split search (grouping_learner_split), the
// significance tests (grouping_learner_significance) and the rule tree's
// names, text and previous groups (grouping_learner_rules), over the samples
// as integer columns (grouping_learner_columns.hpp). Here: the options, and
// turning samples into columns for them.

#include <cmath>
#include <cstdint>
#include <set>
#include <string_view>
#include <utility>

#include "core/errors.hpp"
#include "core/grouping_learner_columns.hpp"
#include "core/grouping_learner_rules.hpp"
#include "core/grouping_learner_split.hpp"

namespace pytheas {

void GroupingLearnerOptions::validate() const {
  if (min_group_size < 1) throw InvalidInput("grouping learner: min_group_size must be >= 1");
  if (max_depth > learner::kMaxDepthLimit)
    throw InvalidInput("grouping learner: max_depth must be <= " +
                       std::to_string(learner::kMaxDepthLimit));
  if (!(false_split_rate > 0 && false_split_rate < 1))
    throw InvalidInput("grouping learner: false_split_rate must be in (0, 1)");
  if (!(min_effect >= 0 && std::isfinite(min_effect)))
    throw InvalidInput("grouping learner: min_effect must be a finite number >= 0");
  if (min_cell_samples < 2) throw InvalidInput("grouping learner: min_cell_samples must be >= 2");
  auto check_share = [](double value, const char* name) {
    if (!(value >= 0 && value <= 1))
      throw InvalidInput(std::string("grouping learner: ") + name + " must be in [0, 1]");
  };
  check_share(coarser_split_margin, "coarser_split_margin");
  check_share(sticky_split_margin, "sticky_split_margin");
  check_share(owner_switch_margin, "owner_switch_margin");
  if (!(rename_tolerance >= 0 && rename_tolerance < 0.5))
    throw InvalidInput("grouping learner: rename_tolerance must be in [0, 0.5)");
  if (!(new_branch_margin >= 0 && std::isfinite(new_branch_margin)))
    throw InvalidInput("grouping learner: new_branch_margin must be a finite number >= 0");
}

std::vector<std::string> default_candidate_features(const FeatureSchema& schema) {
  static const std::set<std::string> per_session = {"Time", "BufRate", "AvgBitrate", "JoinTime"};
  std::vector<std::string> names;
  for (const auto& name : schema.names())
    if (!per_session.contains(name)) names.push_back(name);
  return names;
}

GroupingLearner::GroupingLearner(FeatureSchema schema, GroupingLearnerOptions options)
    : schema_(std::move(schema)), options_(std::move(options)) {
  options_.validate();
  if (options_.candidate_features.empty())
    options_.candidate_features = default_candidate_features(schema_);
  std::set<std::size_t> indices;
  for (const auto& name : options_.candidate_features) {
    auto index = schema_.index_of(name);
    if (!index) throw InvalidInput("grouping learner: unknown candidate feature '" + name + "'");
    indices.insert(*index);
  }
  candidates_.assign(indices.begin(), indices.end());
}

LearnedGrouping GroupingLearner::learn(std::span<const GroupingSample> samples,
                                       const LearnedGrouping* previous,
                                       const Grouping* previous_grouping) const {
  learner::Columns columns;
  columns.rows = samples.size();
  const std::size_t n_candidates = candidates_.size();
  columns.codes.assign(n_candidates, std::vector<std::uint32_t>(samples.size()));
  columns.values.resize(n_candidates);
  columns.decision.resize(samples.size());
  columns.cluster.resize(samples.size());
  columns.score.resize(samples.size());
  std::vector<learner::Interner> feature_ids;
  feature_ids.reserve(n_candidates);
  for (auto& values : columns.values) feature_ids.emplace_back(values);
  std::vector<std::string_view> decision_names;
  learner::Interner decision_ids(decision_names);
  learner::Interner cluster_ids(columns.cluster_names);
  cluster_ids("");  // code 0: no cluster

  double score_sum = 0;
  for (std::size_t row = 0; row < samples.size(); ++row) {
    const auto& sample = samples[row];
    if (sample.features.size() != schema_.size())
      throw InvalidInput("grouping learner: sample " + std::to_string(row) + " has " +
                         std::to_string(sample.features.size()) +
                         " feature values, the schema has " + std::to_string(schema_.size()));
    if (!std::isfinite(sample.score))
      throw InvalidInput("grouping learner: sample " + std::to_string(row) +
                         " has a NaN or infinite score");
    for (std::size_t c = 0; c < n_candidates; ++c)
      columns.codes[c][row] = feature_ids[c](sample.features[candidates_[c]]);
    columns.decision[row] = decision_ids(sample.decision);
    columns.cluster[row] = cluster_ids(sample.cluster);
    columns.score[row] = sample.score;
    score_sum += sample.score;
  }
  columns.decisions = decision_names.size();
  // Centring keeps sum_sq - sum^2/n accurate for scores far from zero.
  if (!samples.empty()) {
    const double mean = score_sum / static_cast<double>(samples.size());
    for (auto& score : columns.score) score -= mean;
  }
  learner::PreviousGroups previous_groups;
  if (previous_grouping)
    previous_groups = learner::groups_of(*previous_grouping, samples);
  else if (previous && previous->rules)
    previous_groups =
        learner::map_previous_rules(*previous->rules, schema_, candidates_, columns, feature_ids);
  return learner::grow_rules(schema_, options_, candidates_, columns, previous,
                             std::move(previous_groups));
}

}  // namespace pytheas
