#include "core/grouping_learner_rules.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "core/grouping_learner.hpp"
#include "test/core/grouping_test_support.hpp"

using namespace pytheas;
using test::leaf;
using test::split;

namespace {

// split() with a table of one entry (RuleNode is move-only: no init lists).
RuleNode split1(std::string feature, std::string value, RuleNode child, RuleNode otherwise) {
  std::map<std::string, RuleNode> table;
  table.emplace(std::move(value), std::move(child));
  return split(std::move(feature), std::move(table), std::move(otherwise));
}

}  // namespace

TEST_CASE("a group name escapes its values, '*' included", "[grouping_learner_rules]") {
  std::string name = "Asn=";
  learner::append_name_value(name, "a;b*c");
  CHECK(name == "Asn=a%3Bb%2Ac");
  std::string plain;
  learner::append_name_value(plain, "AS7");
  CHECK(plain == "AS7");
}

TEST_CASE("format_rules writes one line per branch, nested by indent", "[grouping_learner_rules]") {
  CHECK(format_rules(leaf("global")) == "global\n");
  const auto root = split1("Asn", "a", split1("City", "x", leaf("g1"), leaf("g2")), leaf("g3"));
  CHECK(format_rules(root) ==
        "Asn = a:\n"
        "  City = x: g1\n"
        "  City = *: g2\n"
        "Asn = *: g3\n");
}

TEST_CASE("the previous groups map onto the samples, by keys or by the rule tree",
          "[grouping_learner_rules]") {
  const FeatureSchema schema({"Asn", "City"});
  auto root = std::make_shared<const RuleNode>(
      split1("City", "x", leaf("gx"), split1("Asn", "a", leaf("ga"), leaf("rest"))));
  const std::vector<GroupingSample> samples = {{{"a", "x"}, "d", 1, ""},
                                               {{"a", "y"}, "d", 1, ""},
                                               {{"b", "y"}, "d", 1, ""},
                                               {{"b", "x"}, "d", 1, ""},
                                               {{"c", "z"}, "d", 1, ""}};
  const std::vector<std::string> expected = {"gx", "ga", "rest", "gx", "rest"};

  const auto grouping = make_rule_tree_grouping(schema, root);
  const auto by_keys = learner::groups_of(*grouping, samples);
  REQUIRE(by_keys.group_of_row.size() == samples.size());
  for (std::size_t row = 0; row < samples.size(); ++row)
    CHECK(by_keys.names[by_keys.group_of_row[row]] == expected[row]);
  CHECK(by_keys.rows[by_keys.group_of_row[0]] == 2);

  // The same through the interned columns (both features are candidates).
  learner::Columns columns;
  columns.rows = samples.size();
  columns.codes.assign(2, std::vector<std::uint32_t>(samples.size()));
  columns.values.resize(2);
  std::vector<learner::Interner> interners;
  for (auto& values : columns.values) interners.emplace_back(values);
  for (std::size_t row = 0; row < samples.size(); ++row)
    for (std::size_t c = 0; c < 2; ++c)
      columns.codes[c][row] = interners[c](samples[row].features[c]);
  const auto mapped = learner::map_previous_rules(*root, schema, {0, 1}, columns, interners);
  REQUIRE(mapped.group_of_row.size() == samples.size());
  for (std::size_t row = 0; row < samples.size(); ++row)
    CHECK(mapped.names[mapped.group_of_row[row]] == expected[row]);

  // Rules that split on a feature that is not a candidate cannot be mapped.
  const std::vector<std::size_t> asn_only = {0};
  learner::Columns asn_columns;
  asn_columns.rows = samples.size();
  asn_columns.codes = {columns.codes[0]};
  asn_columns.values = {columns.values[0]};
  std::vector<learner::Interner> asn_interners;
  asn_interners.emplace_back(asn_columns.values[0]);
  for (const auto& value : columns.values[0]) asn_interners[0](value);
  CHECK(learner::map_previous_rules(*root, schema, asn_only, asn_columns, asn_interners)
            .group_of_row.empty());
}
