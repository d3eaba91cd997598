#include "core/regrouper.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "test/core/grouping_test_support.hpp"

using namespace pytheas;
using test::leaf;
using test::normal;
using test::split;

namespace {

const FeatureSchema kSchema({"Asn", "City", "Os"});

// Sessions over (Asn, City, Os) with two decisions. In every ASN but AS1 the
// better decision is "a" for odd ASN numbers and "b" for even ones; in AS1 it
// depends on the city when `city_matters`; Os only shifts every score alike.
std::vector<GroupingSample> sessions(std::uint64_t seed, std::size_t count, bool city_matters) {
  Rng rng(seed);
  std::vector<GroupingSample> out;
  for (std::size_t i = 0; i < count; ++i) {
    const auto asn = 1 + rng.below(4);
    const auto city = rng.below(2);
    const auto os = rng.below(3);
    const bool use_a = rng.below(2) == 0;
    bool a_better = asn % 2 == 1;
    if (asn == 1 && city_matters) a_better = city == 0;
    const double score =
        (use_a == a_better ? 10.0 : 0.0) + 20.0 * static_cast<double>(os) + 5 * normal(rng);
    out.push_back(
        {{"AS" + std::to_string(asn), "city" + std::to_string(city), "os" + std::to_string(os)},
         use_a ? "a" : "b",
         score,
         ""});
  }
  return out;
}

RegrouperOptions small_options() {
  RegrouperOptions options;
  options.learner.min_group_size = 50;
  options.window = 20000;
  options.min_samples = 1000;
  return options;
}

}  // namespace

TEST_CASE("group_transition: parent takes the old group with most members, heir the new one",
          "[regrouper]") {
  const FeatureSchema schema({"Asn", "City"});
  auto before = make_feature_grouping(schema, {"Asn"});
  // A1 splits by city; A3, A4, A5 merge into "other"; A6 and A7 tie in "tie".
  std::map<std::string, RuleNode> a1_cities;
  a1_cities.emplace("Boston", leaf("A1-boston"));
  std::map<std::string, RuleNode> asns;
  asns.emplace("A1", split("City", std::move(a1_cities), leaf("A1-rest")));
  asns.emplace("A2", leaf("A2"));
  asns.emplace("A6", leaf("tie"));
  asns.emplace("A7", leaf("tie"));
  auto after = make_rule_tree_grouping(
      schema, std::make_shared<const RuleNode>(split("Asn", std::move(asns), leaf("other"))));
  std::vector<GroupingSample> samples;
  auto add = [&](const char* asn, const char* city, int count) {
    for (int i = 0; i < count; ++i) samples.push_back({{asn, city}, "a", 0, ""});
  };
  add("A1", "Boston", 5);
  add("A1", "Chicago", 3);
  add("A2", "Boston", 4);
  add("A3", "Boston", 2);
  add("A4", "Denver", 3);
  add("A5", "Denver", 1);
  add("A6", "Boston", 2);
  add("A7", "Boston", 2);
  samples.push_back({{"A9"}, "a", 0, ""});  // wrong feature count: skipped

  const auto transition = group_transition(*before, *after, samples, schema.size());
  CHECK(transition.parent == std::map<std::string, std::string>{{"A1-boston", "Asn=A1"},
                                                                {"A1-rest", "Asn=A1"},
                                                                {"A2", "Asn=A2"},
                                                                {"other", "Asn=A4"},
                                                                {"tie", "Asn=A6"}});
  CHECK(transition.heir == std::map<std::string, std::string>{{"Asn=A1", "A1-boston"},
                                                              {"Asn=A2", "A2"},
                                                              {"Asn=A3", "other"},
                                                              {"Asn=A4", "other"},
                                                              {"Asn=A5", "other"},
                                                              {"Asn=A6", "tie"},
                                                              {"Asn=A7", "tie"}});
}

TEST_CASE("the regrouper waits for min_samples and rejects bad samples", "[regrouper]") {
  std::shared_ptr<const Grouping> initial = make_feature_grouping(kSchema, {"Asn"});
  Regrouper regrouper(kSchema, small_options(), initial);
  CHECK(regrouper.learned() == nullptr);
  const auto samples = sessions(1, 999, false);
  for (const auto& sample : samples) regrouper.add(sample);
  regrouper.add({{"AS1", "city0"}, "a", 1, ""});                    // 2 features, not 3
  regrouper.add({{"AS1", "city0", "os0"}, "a", std::nan(""), ""});  // NaN score
  regrouper.add({{"AS1", "city0", "os0"}, "a", INFINITY, ""});
  CHECK(regrouper.rejected() == 3);
  CHECK(regrouper.samples() == 999);
  CHECK(regrouper.total_added() == 999);
  CHECK_FALSE(regrouper.regroup());
  CHECK(regrouper.learned() == nullptr);
  CHECK(regrouper.current() == initial);
  regrouper.add(samples.front());
  CHECK(regrouper.regroup());
  CHECK(regrouper.learned() != nullptr);
}

TEST_CASE("a regroup that keeps the initial [Asn] renames nothing, unchanged rules are no regroup",
          "[regrouper]") {
  std::shared_ptr<const Grouping> initial = make_feature_grouping(kSchema, {"Asn"});
  Regrouper regrouper(kSchema, small_options(), initial);
  for (const auto& sample : sessions(2, 8000, false)) regrouper.add(sample);
  auto first = regrouper.regroup();
  REQUIRE(first);
  INFO(format_rules(*first->learned.rules));
  // Asn changes the best decision; Os (an offset) and City do not.
  CHECK(first->learned.split_features == std::vector<std::string>{"Asn"});
  for (const auto* asn : {"AS1", "AS2", "AS3", "AS4"}) {
    const std::string key = std::string("Asn=") + asn;
    CHECK(first->learned.sizes.contains(key));
    CHECK(first->parent.at(key) == key);
    CHECK(first->heir.at(key) == key);
  }
  CHECK(regrouper.current() == first->grouping);
  CHECK(first->learn_seconds > 0);
  // The same kind of data again: same rules, no regroup, learned() updated.
  for (const auto& sample : sessions(3, 8000, false)) regrouper.add(sample);
  CHECK_FALSE(regrouper.regroup());
  CHECK(regrouper.learned()->samples == 16000);
  CHECK(regrouper.current() == first->grouping);
}

TEST_CASE("a learn that finds no split merges groups only when they want the same decision",
          "[regrouper]") {
  // The learner is made unable to split (every advantage is below its
  // minimum effect): it returns one global group whatever the data.
  auto options = small_options();
  options.learner.min_effect = 1000;
  std::shared_ptr<const Grouping> initial = make_feature_grouping(kSchema, {"Asn"});

  // The [Asn] groups want different decisions ("a" in odd ASNs, "b" in even
  // ones, by 10 with noise of sd 5): no evidence for a split is not evidence
  // for one group, so the groups stay and learned() stays empty.
  Regrouper disagreeing(kSchema, options, initial);
  for (const auto& sample : sessions(4, 8000, false)) disagreeing.add(sample);
  CHECK_FALSE(disagreeing.regroup());
  CHECK(disagreeing.current() == initial);
  CHECK(disagreeing.learned() == nullptr);
  CHECK(disagreeing.kept_on_merge() == 1);

  // Scores no feature explains: noise cannot keep the groups apart.
  Regrouper noise(kSchema, options, initial);
  Rng noise_rng(6);
  for (auto sample : sessions(4, 8000, false)) {
    sample.score = 5 * normal(noise_rng);
    noise.add(std::move(sample));
  }
  auto noise_merged = noise.regroup();
  REQUIRE(noise_merged);
  CHECK(std::holds_alternative<std::string>(noise_merged->learned.rules->node));
  CHECK(noise.kept_on_merge() == 0);

  // Every ASN wants "a": the groups merge into one, as the learn says.
  Regrouper agreeing(kSchema, options, initial);
  Rng rng(5);
  for (auto sample : sessions(4, 8000, false)) {
    sample.score = (sample.decision == "a" ? 10.0 : 0.0) + 5 * normal(rng);
    agreeing.add(std::move(sample));
  }
  auto merged = agreeing.regroup();
  REQUIRE(merged);
  CHECK(std::holds_alternative<std::string>(merged->learned.rules->node));
  CHECK(agreeing.current() == merged->grouping);
  CHECK(agreeing.kept_on_merge() == 0);
}

TEST_CASE(
    "a learn that only merges groups is refused when one differs; splits, cuts, rare groups pass",
    "[regrouper]") {
  // Groups in force: [Asn, City]. The learner may split on Asn and Os only,
  // so every learn merges each ASN's two cities.
  auto options = small_options();
  options.learner.candidate_features = {"Asn", "Os"};
  std::shared_ptr<const Grouping> initial = make_feature_grouping(kSchema, {"Asn", "City"});

  // In AS1 the cities want different decisions: merging them would lose
  // that, so the [Asn, City] groups stay, though the learn split on Asn.
  Regrouper differing(kSchema, options, initial);
  for (const auto& sample : sessions(7, 8000, true)) differing.add(sample);
  CHECK_FALSE(differing.regroup());
  CHECK(differing.current() == initial);
  CHECK(differing.learned() == nullptr);
  CHECK(differing.kept_on_merge() == 1);

  // The cities of every ASN agree: the learn's [Asn] groups replace them.
  Regrouper agreeing(kSchema, options, initial);
  for (const auto& sample : sessions(7, 8000, false)) agreeing.add(sample);
  auto merged = agreeing.regroup();
  REQUIRE(merged);
  CHECK(merged->learned.split_features == std::vector<std::string>{"Asn"});
  CHECK(merged->heir.at("Asn=AS1;City=city0") == merged->heir.at("Asn=AS1;City=city1"));
  CHECK(agreeing.current() == merged->grouping);
  CHECK(agreeing.kept_on_merge() == 0);

  // Groups in force by City, which cut across the ASNs: a learn by Asn takes
  // a part of each city group into each ASN group. That is a new structure,
  // not a merge, and it is taken though AS1's cities differ.
  Regrouper crossing(kSchema, options, make_feature_grouping(kSchema, {"City"}));
  for (const auto& sample : sessions(7, 8000, true)) crossing.add(sample);
  auto regrouped = crossing.regroup();
  REQUIRE(regrouped);
  CHECK(regrouped->learned.split_features == std::vector<std::string>{"Asn"});
  CHECK(crossing.kept_on_merge() == 0);

  // A learn that splits a group in force is taken whole, though it also
  // merges groups that differ: refusing it would let a distinction the
  // learner cannot prove block the splits it can. Here AS2 and AS3 (which
  // want different decisions) share a group that the learn splits, and the
  // learn merges AS1's cities.
  std::map<std::string, RuleNode> as1_cities;
  as1_cities.emplace("city0", leaf("AS1-city0"));
  std::map<std::string, RuleNode> asns;
  asns.emplace("AS1", split("City", std::move(as1_cities), leaf("AS1-city1")));
  asns.emplace("AS4", leaf("AS4"));
  Regrouper mixed(kSchema, options,
                  make_rule_tree_grouping(kSchema, std::make_shared<const RuleNode>(split(
                                                       "Asn", std::move(asns), leaf("AS2+AS3")))));
  for (const auto& sample : sessions(7, 8000, true)) mixed.add(sample);
  auto taken = mixed.regroup();
  REQUIRE(taken);
  CHECK(taken->learned.split_features == std::vector<std::string>{"Asn"});
  CHECK(taken->heir.at("AS1-city0") == taken->heir.at("AS1-city1"));
  std::vector<std::string_view> as2{"AS2", "city0", "os0"}, as3{"AS3", "city0", "os0"};
  CHECK(taken->grouping->key(FeatureView(as2)) != taken->grouping->key(FeatureView(as3)));
  CHECK(mixed.kept_on_merge() == 0);

  // A group in force under min_group_size samples is the learner's to merge
  // (it backs rare values off to a coarser group), even when it differs:
  // AS9, 40 sessions that want "c", goes to the default branch.
  auto asn_only = options;
  asn_only.learner.candidate_features = {"Asn"};
  Regrouper rare(kSchema, asn_only, make_feature_grouping(kSchema, {"Asn"}));
  for (const auto& sample : sessions(8, 8000, false)) rare.add(sample);
  Rng rare_rng(9);
  for (int i = 0; i < 40; ++i) {
    const bool use_c = i % 2 == 0;
    rare.add({{"AS9", "city0", "os0"},
              use_c ? "c" : (i % 4 == 1 ? "a" : "b"),
              (use_c ? 20.0 : 0.0) + 5 * normal(rare_rng),
              ""});
  }
  auto backed_off = rare.regroup();
  REQUIRE(backed_off);
  CHECK(rare.kept_on_merge() == 0);
  std::vector<std::string_view> as9{"AS9", "city0", "os0"};
  const auto rare_key = backed_off->grouping->key(FeatureView(as9));
  INFO(format_rules(*backed_off->learned.rules));
  CHECK(backed_off->learned.sizes.at(rare_key) > 40);  // shared with another ASN
}

TEST_CASE("when a city starts to matter, its ASN's group splits and the parts name their parent",
          "[regrouper]") {
  std::shared_ptr<const Grouping> initial = make_feature_grouping(kSchema, {"Asn"});
  auto options = small_options();
  options.window = 8000;
  Regrouper regrouper(kSchema, options, initial);
  for (const auto& sample : sessions(4, 8000, false)) regrouper.add(sample);
  REQUIRE(regrouper.regroup());
  for (const auto& sample : sessions(5, 8000, true)) regrouper.add(sample);  // replaces the window
  auto split = regrouper.regroup();
  REQUIRE(split);
  INFO(format_rules(*split->learned.rules));
  CHECK(split->learned.split_features == std::vector<std::string>{"Asn", "City"});
  CHECK(split->parent.at("Asn=AS1;City=city0") == "Asn=AS1");
  CHECK(split->parent.at("Asn=AS1;City=city1") == "Asn=AS1");
  CHECK(split->parent.at("Asn=AS2") == "Asn=AS2");
  CHECK(split->heir.at("Asn=AS1").starts_with("Asn=AS1;City=city"));
  CHECK(split->heir.at("Asn=AS3") == "Asn=AS3");
}

TEST_CASE("the regrouper rejects bad options", "[regrouper][bad_input]") {
  std::shared_ptr<const Grouping> initial = make_feature_grouping(kSchema, {"Asn"});
  auto options = small_options();
  options.window = 0;
  CHECK_THROWS_AS(Regrouper(kSchema, options, initial), InvalidInput);
  options = small_options();
  options.min_samples = 0;
  CHECK_THROWS_AS(Regrouper(kSchema, options, initial), InvalidInput);
  options = small_options();
  options.learner.false_split_rate = 0;
  CHECK_THROWS_WITH(Regrouper(kSchema, options, initial), Catch::Contains("false_split_rate"));
  options = small_options();
  options.learner.candidate_features = {"Planet"};
  CHECK_THROWS_WITH(Regrouper(kSchema, options, initial), Catch::Contains("Planet"));
  CHECK_THROWS_AS(Regrouper(kSchema, small_options(), nullptr), InvalidInput);
}
