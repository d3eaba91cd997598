#include "core/grouping.hpp"

#include <catch2/catch.hpp>

#include <thread>

#include "core/errors.hpp"
#include "test/core/grouping_test_support.hpp"

using namespace pytheas;
using test::leaf;
using test::split;

namespace {

// A session of the original 15-feature schema with the given Asn and City.
std::vector<std::string_view> session(std::string_view asn, std::string_view city) {
  std::vector<std::string_view> values(15, "");
  values[4] = asn;
  values[5] = city;
  values[6] = "US";
  return values;
}

}  // namespace

TEST_CASE("feature-list keys name each feature and value in list order", "[grouping]") {
  const auto schema = FeatureSchema::original();
  auto by_asn_city = make_feature_grouping(schema, {"Asn", "City"});
  auto values = session("7922", "Boston");
  CHECK(by_asn_city->key(values) == "Asn=7922;City=Boston");
  CHECK(by_asn_city->describe() == "features [Asn, City]");

  auto by_city_asn = make_feature_grouping(schema, {"City", "Asn"});
  CHECK(by_city_asn->key(values) == "City=Boston;Asn=7922");

  auto by_asn = make_feature_grouping(schema, {"Asn"});
  CHECK(by_asn->key(values) == "Asn=7922");
  CHECK(by_asn->key(session("7922", "Paris")) == "Asn=7922");
}

TEST_CASE("the empty feature list is one global group", "[grouping]") {
  auto global = make_feature_grouping(FeatureSchema::original(), {});
  CHECK(global->key(session("1", "A")) == "global");
  CHECK(global->key(session("2", "B")) == "global");
  CHECK(global->describe() == "features []");
}

TEST_CASE("separators and percent and non-printable bytes are %XX-escaped", "[grouping]") {
  auto grouping = make_feature_grouping(FeatureSchema::original(), {"Asn", "City"});
  CHECK(grouping->key(session("a;b", "c=d")) == "Asn=a%3Bb;City=c%3Dd");
  CHECK(grouping->key(session("100%", "\t\x7f\xc3\xa9")) == "Asn=100%25;City=%09%7F%C3%A9");
  CHECK(grouping->key(session("New York", "")) == "Asn=New York;City=");
  // Values that would collide without escaping stay distinct.
  CHECK(grouping->key(session("1;City=2", "3")) != grouping->key(session("1", "2;City=3")));
}

TEST_CASE("a feature grouping rejects unknown and repeated features", "[grouping]") {
  const auto schema = FeatureSchema::original();
  CHECK_THROWS_AS(make_feature_grouping(schema, {"Asn", "Planet"}), InvalidInput);
  CHECK_THROWS_WITH(make_feature_grouping(schema, {"Planet"}), Catch::Contains("Planet"));
  CHECK_THROWS_WITH(make_feature_grouping(schema, {"Asn", "Asn"}), Catch::Contains("twice"));
}

TEST_CASE("key() rejects a feature vector of the wrong size", "[grouping]") {
  auto grouping = make_feature_grouping(FeatureSchema::original(), {"Asn"});
  std::vector<std::string_view> short_values(3, "x");
  CHECK_THROWS_AS(grouping->key(short_values), InvalidInput);
}

TEST_CASE("a rule tree follows table entries and default branches", "[grouping]") {
  const auto schema = FeatureSchema::original();
  std::map<std::string, RuleNode> boston_cities;
  boston_cities.emplace("Boston", leaf("comcast-boston"));
  std::map<std::string, RuleNode> asns;
  asns.emplace("7922", split("City", std::move(boston_cities), leaf("comcast-other")));
  asns.emplace("701", leaf("verizon"));
  auto root = std::make_shared<RuleNode>(split("Asn", std::move(asns), leaf("rest")));

  auto tree = make_rule_tree_grouping(schema, root);
  CHECK(tree->key(session("7922", "Boston")) == "comcast-boston");
  CHECK(tree->key(session("7922", "Austin")) == "comcast-other");
  CHECK(tree->key(session("701", "Boston")) == "verizon");
  CHECK(tree->key(session("3356", "Boston")) == "rest");
  CHECK(tree->describe() == "rule tree (2 splits, 4 groups)");

  auto single = make_rule_tree_grouping(schema, std::make_shared<RuleNode>(leaf("all")));
  CHECK(single->key(session("1", "x")) == "all");
}

TEST_CASE("a rule tree rejects unknown features and missing defaults and empty names",
          "[grouping]") {
  const auto schema = FeatureSchema::original();
  CHECK_THROWS_WITH(
      make_rule_tree_grouping(schema, std::make_shared<RuleNode>(split("Planet", {}, leaf("x")))),
      Catch::Contains("Planet"));

  RuleNode::Split no_default;
  no_default.feature = "Asn";
  CHECK_THROWS_WITH(
      make_rule_tree_grouping(schema, std::make_shared<RuleNode>(RuleNode{std::move(no_default)})),
      Catch::Contains("default"));

  CHECK_THROWS_AS(make_rule_tree_grouping(schema, std::make_shared<RuleNode>(leaf(""))),
                  InvalidInput);
  std::map<std::string, RuleNode> table;
  table.emplace("1", leaf(""));
  CHECK_THROWS_AS(make_rule_tree_grouping(schema, std::make_shared<RuleNode>(
                                                      split("Asn", std::move(table), leaf("ok")))),
                  InvalidInput);
  CHECK_THROWS_AS(make_rule_tree_grouping(schema, nullptr), InvalidInput);
}

TEST_CASE("a grouping gives the same keys from many threads at once", "[grouping]") {
  auto grouping = make_feature_grouping(FeatureSchema::original(), {"Asn", "City"});
  auto values = session("7922", "Boston");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i)
        if (grouping->key(values) != "Asn=7922;City=Boston")
          ++mismatches[static_cast<std::size_t>(t)];
    });
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}
