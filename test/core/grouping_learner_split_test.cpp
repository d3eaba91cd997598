#include "core/grouping_learner_split.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

using namespace pytheas;

namespace {

// 400 rows over Asn {a, b} and City {x, y}, two decisions d0 and d1. With
// `effect`, d0 scores 10 more in Asn a and d1 10 more in Asn b; City never
// matters. A little noise (row % 3) in every cell.
learner::Columns asn_columns(bool effect) {
  learner::Columns columns;
  columns.rows = 400;
  columns.codes.assign(2, std::vector<std::uint32_t>(columns.rows));
  columns.values = {{"a", "b"}, {"x", "y"}};
  columns.decision.resize(columns.rows);
  columns.decisions = 2;
  columns.cluster.assign(columns.rows, 0);
  columns.cluster_names = {""};
  columns.score.resize(columns.rows);
  for (std::size_t row = 0; row < columns.rows; ++row) {
    const auto asn = static_cast<std::uint32_t>(row % 2);
    columns.codes[0][row] = asn;
    columns.codes[1][row] = static_cast<std::uint32_t>((row / 2) % 2);
    columns.decision[row] = static_cast<std::uint32_t>((row / 4) % 2);
    const bool fits = columns.decision[row] == asn;
    columns.score[row] = (effect && fits ? 10.0 : 0.0) + static_cast<double>(row % 3);
  }
  return columns;
}

GroupingLearnerOptions small_groups() {
  GroupingLearnerOptions options;
  options.min_group_size = 20;
  return options;
}

}  // namespace

TEST_CASE("the split search splits on the feature that changes the best decision",
          "[grouping_learner_split]") {
  const FeatureSchema schema({"Asn", "City"});
  const auto learned = learner::grow_rules(schema, small_groups(), {0, 1}, asn_columns(true),
                                           nullptr, learner::PreviousGroups{});
  CHECK(learned.split_features == std::vector<std::string>{"Asn"});
  CHECK(learned.sizes ==
        std::map<std::string, std::size_t>{{"Asn=a", 200}, {"Asn=b", 200}, {"Asn=*", 0}});
  CHECK(learned.samples == 400);
}

TEST_CASE("the split search keeps one group where no decision wins anywhere",
          "[grouping_learner_split]") {
  const FeatureSchema schema({"Asn", "City"});
  const auto flat = learner::grow_rules(schema, small_groups(), {0, 1}, asn_columns(false), nullptr,
                                        learner::PreviousGroups{});
  CHECK(flat.split_features.empty());
  CHECK(flat.sizes == std::map<std::string, std::size_t>{{"global", 400}});

  auto shallow = small_groups();
  shallow.max_depth = 0;
  CHECK(learner::grow_rules(schema, shallow, {0, 1}, asn_columns(true), nullptr,
                            learner::PreviousGroups{})
            .sizes.size() == 1);
}
