#include "core/grouping_learner.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/grouping_sample_window.hpp"
#include "core/rng.hpp"
#include "test/core/grouping_test_support.hpp"

using namespace pytheas;
using test::normal;

namespace {

const std::vector<std::string> kAsns = {"AS1", "AS2", "AS3", "AS4"};
const std::vector<std::string> kCities = {"Boston", "Chicago", "Denver"};
const std::vector<std::string> kDecisions = {"cdn-a", "cdn-b", "cdn-c"};
const std::vector<std::string> kOses = {"windows", "macos", "linux", "android"};

// The true mean cost of `decision` for (asn, city) in world
// `truth_seed`.
std::vector<double> asn_city_effects(std::uint64_t truth_seed = 7) {
  Rng truth(truth_seed);
  std::vector<double> effect(kAsns.size() * kCities.size() * kDecisions.size());
  for (auto& x : effect) x = 25 * normal(truth);
  return effect;
}

// Sessions of the original 15-feature schema where the score of each decision
// depends on the (Asn, City) combination and on nothing else: Os, ConnType,
// ObjectId, PlayerType... are drawn at random. The per-combination effects
// come from `truth_seed` (the same world), the sessions from `seed`. Each
// session's cluster is "fe-<Asn>" 80% of the time, else "fe-other".
std::vector<GroupingSample> asn_city_sessions(std::uint64_t seed, std::size_t per_combination,
                                              std::uint64_t truth_seed = 7) {
  const auto effect = asn_city_effects(truth_seed);
  Rng rng(seed);
  std::vector<GroupingSample> samples;
  const std::size_t total = per_combination * kAsns.size() * kCities.size();
  for (std::size_t i = 0; i < total; ++i) {
    const auto asn = rng.below(kAsns.size());
    const auto city = rng.below(kCities.size());
    const auto decision = rng.below(kDecisions.size());
    GroupingSample sample;
    sample.features.assign(15, "");
    sample.features[0] = std::to_string(1000 * i);                // Time
    sample.features[1] = std::to_string(rng.below(100));          // BufRate
    sample.features[3] = std::to_string(200 + rng.below(4000));   // JoinTime
    sample.features[4] = kAsns[asn];                              // Asn
    sample.features[5] = kCities[city];                           // City
    sample.features[6] = "US";                                    // Country
    sample.features[7] = rng.below(2) ? "dsl" : "cable";          // ConnType
    sample.features[9] = kOses[rng.below(kOses.size())];          // Os
    sample.features[11] = "obj" + std::to_string(rng.below(40));  // ObjectId
    sample.features[12] = rng.below(2) ? "html5" : "flash";       // PlayerType
    sample.decision = kDecisions[decision];
    sample.score = -(100 + effect[(asn * kCities.size() + city) * kDecisions.size() + decision]) +
                   10 * normal(rng);
    sample.cluster = rng.uniform() < 0.8 ? "fe-" + kAsns[asn] : "fe-other";
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::vector<std::string_view> views(const GroupingSample& sample) {
  return {sample.features.begin(), sample.features.end()};
}

GroupingLearnerOptions options_with_min(std::size_t min_group_size) {
  GroupingLearnerOptions options;
  options.min_group_size = min_group_size;
  return options;
}

std::set<std::string> names_of(const LearnedGrouping& learned) {
  std::set<std::string> names;
  for (const auto& [name, size] : learned.sizes) names.insert(name);
  return names;
}

}  // namespace

TEST_CASE("learned rules split where the best decision differs, on relevant features only",
          "[grouping_learner]") {
  const auto schema = FeatureSchema::original();
  const auto samples = asn_city_sessions(1, 1500);
  GroupingLearner learner(schema, options_with_min(300));
  const auto learned = learner.learn(samples);
  INFO(format_rules(*learned.rules));

  // Asn and City only: Os, ConnType, ObjectId... never.
  CHECK(learned.split_features == std::vector<std::string>{"Asn", "City"});
  CHECK(learned.samples == samples.size());
  auto grouping = make_rule_tree_grouping(schema, learned.rules);
  std::map<std::string, std::set<std::size_t>> combos_of_group;
  for (const auto& sample : samples) {
    auto values = views(sample);
    const auto asn = static_cast<std::size_t>(
        std::find(kAsns.begin(), kAsns.end(), sample.features[4]) - kAsns.begin());
    const auto city = static_cast<std::size_t>(
        std::find(kCities.begin(), kCities.end(), sample.features[5]) - kCities.begin());
    combos_of_group[grouping->key(values)].insert(asn * kCities.size() + city);
  }
  // A group never mixes combinations that want different decisions by a
  // margin that matters: each member's regret under the group's best decision
  // (on the true means) is small. Combinations that want the same decision
  // may share a group (fewer, larger groups learn faster).
  const auto effect = asn_city_effects();
  const auto cost = [&](std::size_t combo, std::size_t d) {
    return effect[combo * kDecisions.size() + d];
  };
  for (const auto& [group, combos] : combos_of_group) {
    INFO(group);
    std::size_t group_best = 0;
    double best_total = INFINITY;
    for (std::size_t d = 0; d < kDecisions.size(); ++d) {
      double total = 0;
      for (auto combo : combos) total += cost(combo, d);
      if (total < best_total) best_total = total, group_best = d;
    }
    for (auto combo : combos) {
      double own_best = INFINITY;
      for (std::size_t d = 0; d < kDecisions.size(); ++d)
        own_best = std::min(own_best, cost(combo, d));
      CHECK(cost(combo, group_best) - own_best < 3);
    }
  }
  CHECK(combos_of_group.size() > kAsns.size());  // some ASNs are split by city
  CHECK(combos_of_group.size() <= kAsns.size() * kCities.size());
  // Names come from the path, conditions in schema order.
  bool saw_city = false;
  for (const auto& sample : samples) {
    auto values = views(sample);
    const auto key = grouping->key(values);
    if (key.find(";City=") == std::string::npos) continue;
    saw_city = true;
    CHECK(key == "Asn=" + sample.features[4] + ";City=" + sample.features[5]);
    break;
  }
  CHECK(saw_city);
}

TEST_CASE("pure noise gives one global group", "[grouping_learner]") {
  // Scores independent of every feature: with 11 candidate features and up to
  // 40 values each, a chance split would show up here over a few seeds.
  const auto schema = FeatureSchema::original();
  GroupingLearner learner(schema, options_with_min(100));
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    auto samples = asn_city_sessions(seed, 800);
    Rng rng(seed + 100);
    for (auto& sample : samples) sample.score = 10 * normal(rng);
    const auto learned = learner.learn(samples);
    INFO("seed " << seed << "\n" << format_rules(*learned.rules));
    CHECK(learned.split_features.empty());
    CHECK(learned.sizes == std::map<std::string, std::size_t>{{"global", samples.size()}});
  }
}

TEST_CASE("every group meets the minimum size, rare values back off to the default branch",
          "[grouping_learner]") {
  const auto schema = FeatureSchema::original();
  auto samples = asn_city_sessions(2, 1000);
  // A rare ASN whose sessions are very different: too few for a group.
  Rng rng(3);
  for (int i = 0; i < 120; ++i) {
    auto sample = samples[static_cast<std::size_t>(i)];
    sample.features[4] = "AS-rare";
    sample.score = -400 + 10 * normal(rng);
    samples.push_back(sample);
  }
  const std::size_t min_size = 250;
  GroupingLearner learner(schema, options_with_min(min_size));
  const auto learned = learner.learn(samples);
  auto grouping = make_rule_tree_grouping(schema, learned.rules);

  std::map<std::string, std::size_t> counted;
  for (const auto& sample : samples) {
    auto values = views(sample);
    ++counted[grouping->key(values)];
  }
  for (const auto& [group, size] : learned.sizes) {
    INFO(group);
    if (size > 0) CHECK(size >= min_size);
    CHECK(counted[group] == size);  // the live grouping agrees with the sizes
  }
  auto rare = samples.back();
  auto rare_values = views(rare);
  CHECK(grouping->key(rare_values).starts_with("Asn=*"));
  // A value the learner never saw lands in a default branch too.
  rare.features[4] = "AS-never-seen";
  auto unseen_values = views(rare);
  CHECK(grouping->key(unseen_values).starts_with("Asn=*"));
}

TEST_CASE("group names are stable across regroupings of similar data", "[grouping_learner]") {
  const auto schema = FeatureSchema::original();
  GroupingLearner learner(schema, options_with_min(300));
  const auto first = learner.learn(asn_city_sessions(11, 1500));
  const auto second_fresh = learner.learn(asn_city_sessions(12, 1500));
  const auto second = learner.learn(asn_city_sessions(12, 1500), &first);
  std::size_t filled = 0;
  for (const auto& [name, size] : first.sizes) filled += size > 0;
  CHECK(filled > kAsns.size());
  CHECK(names_of(second_fresh) == names_of(first));
  CHECK(names_of(second) == names_of(first));
  CHECK(second.owner == first.owner);
}

TEST_CASE("owners are the majority cluster of each group", "[grouping_learner]") {
  const auto schema = FeatureSchema::original();
  const auto samples = asn_city_sessions(5, 1000);
  GroupingLearner learner(schema, options_with_min(300));
  const auto learned = learner.learn(samples);
  auto grouping = make_rule_tree_grouping(schema, learned.rules);
  std::map<std::string, std::map<std::string, std::size_t>> clusters_of_group;
  for (const auto& sample : samples) {
    auto values = views(sample);
    ++clusters_of_group[grouping->key(values)][sample.cluster];
  }
  for (const auto& [group, clusters] : clusters_of_group) {
    INFO(group);
    std::string majority;
    std::size_t most = 0;
    for (const auto& [cluster, count] : clusters)
      if (count > most) most = count, majority = cluster;
    REQUIRE(learned.owner.contains(group));
    CHECK(learned.owner.at(group) == majority);
    CHECK(majority.starts_with("fe-AS"));
  }
}

TEST_CASE("owner hysteresis: the previous owner stays unless another clearly dominates",
          "[grouping_learner]") {
  const auto schema = FeatureSchema({"Asn"});
  GroupingLearnerOptions options;
  options.min_group_size = 10;
  options.owner_switch_margin = 0.1;
  GroupingLearner learner(schema, options);
  auto sessions = [](std::size_t east, std::size_t west) {
    std::vector<GroupingSample> samples;
    for (std::size_t i = 0; i < east + west; ++i)
      samples.push_back({{"AS1"}, "cdn-a", double(i % 7), i < east ? "east" : "west"});
    return samples;
  };
  const auto first = learner.learn(sessions(60, 40));
  REQUIRE(first.owner.at("global") == "east");
  // west leads by 4 points: not clear enough, east keeps it.
  CHECK(learner.learn(sessions(48, 52), &first).owner.at("global") == "east");
  // west leads by 40 points: it takes over.
  CHECK(learner.learn(sessions(30, 70), &first).owner.at("global") == "west");
  // Without a previous grouping, the majority wins; an exact tie goes to the
  // smallest name.
  CHECK(learner.learn(sessions(48, 52)).owner.at("global") == "west");
  CHECK(learner.learn(sessions(50, 50)).owner.at("global") == "east");
  // No cluster named at all: no owner.
  std::vector<GroupingSample> anonymous = {{{"AS1"}, "cdn-a", 1, ""}};
  CHECK(learner.learn(anonymous).owner.empty());
}

TEST_CASE("a value needs a margin more samples to get a new branch", "[grouping_learner]") {
  // Asn matters; AS3 has 110 samples: enough for a branch (min 100) on a
  // fresh learn, but not enough (100 x 1.25) to be added to a previous split
  // on Asn that did not have it.
  const auto schema = FeatureSchema({"Asn"});
  GroupingLearnerOptions options;
  options.min_group_size = 100;
  GroupingLearner learner(schema, options);
  Rng rng(9);
  auto sessions = [&](std::size_t as3) {
    std::vector<GroupingSample> samples;
    auto add = [&](const char* asn, std::size_t count, double a, double b) {
      for (std::size_t i = 0; i < count; ++i) {
        const bool use_a = i % 2 == 0;
        samples.push_back({{asn}, use_a ? "a" : "b", (use_a ? a : b) + normal(rng), ""});
      }
    };
    add("AS1", 400, 0, 20);
    add("AS2", 400, 20, 0);
    add("AS3", as3, 40, -40);
    return samples;
  };
  const auto fresh = learner.learn(sessions(110));
  CHECK(fresh.sizes.contains("Asn=AS3"));
  const auto before = learner.learn(sessions(0));
  REQUIRE(before.sizes.contains("Asn=AS1"));
  REQUIRE_FALSE(before.sizes.contains("Asn=AS3"));
  const auto after = learner.learn(sessions(110), &before);
  CHECK_FALSE(after.sizes.contains("Asn=AS3"));
  CHECK(after.sizes.at("Asn=*") == 110);
  CHECK(learner.learn(sessions(130), &before).sizes.contains("Asn=AS3"));
}

TEST_CASE("learner edge cases: no samples, depth 0, names escape values", "[grouping_learner]") {
  const auto schema = FeatureSchema({"Asn", "City"});
  GroupingLearner learner(schema, options_with_min(5));
  const auto empty = learner.learn({});
  CHECK(empty.sizes == std::map<std::string, std::size_t>{{"global", 0}});
  CHECK(format_rules(*empty.rules) == "global\n");

  std::vector<GroupingSample> samples;
  // Asn "a;b*" does best with d1, "c" with d2: an interaction the learner
  // must split on.
  for (int i = 0; i < 200; ++i) {
    const bool odd = i % 2;
    const bool d1 = (i / 2) % 2;
    samples.push_back(
        {{odd ? "a;b*" : "c", "x"}, d1 ? "d1" : "d2", (odd == d1 ? 0.0 : 10.0) + i % 3, ""});
  }
  const auto learned = learner.learn(samples);
  CHECK(learned.sizes.contains("Asn=a%3Bb%2A"));
  CHECK(learned.sizes.contains("Asn=c"));
  CHECK(learned.sizes.at("Asn=*") == 0);  // a default branch for unseen values
  CHECK(format_rules(*learned.rules).find("Asn = a;b*: Asn=a%3Bb%2A\n") != std::string::npos);

  GroupingLearnerOptions flat = options_with_min(5);
  flat.max_depth = 0;
  CHECK(GroupingLearner(schema, flat).learn(samples).sizes.size() == 1);
  // Only the candidate features are split on.
  GroupingLearnerOptions city_only = options_with_min(5);
  city_only.candidate_features = {"City"};
  CHECK(GroupingLearner(schema, city_only).learn(samples).split_features.empty());
}

TEST_CASE("learner rejects bad input with InvalidInput", "[grouping_learner][bad_input]") {
  const auto schema = FeatureSchema({"Asn", "City"});
  CHECK_THROWS_AS(GroupingLearner(schema, options_with_min(0)), InvalidInput);
  GroupingLearnerOptions unknown;
  unknown.candidate_features = {"Asn", "Planet"};
  CHECK_THROWS_WITH(GroupingLearner(schema, unknown), Catch::Contains("Planet"));
  GroupingLearnerOptions bad_gain;
  bad_gain.min_effect = std::nan("");
  CHECK_THROWS_AS(GroupingLearner(schema, bad_gain), InvalidInput);

  GroupingLearner learner(schema, options_with_min(1));
  std::vector<GroupingSample> samples = {{{"AS1", "Boston"}, "a", 1, ""}, {{"AS1"}, "a", 1, ""}};
  CHECK_THROWS_WITH(learner.learn(samples), Catch::Contains("sample 1 has 1 feature values"));
  samples[1] = {{"AS1", "Boston"}, "a", std::nan(""), ""};
  CHECK_THROWS_WITH(learner.learn(samples), Catch::Contains("sample 1 has a NaN"));
  samples[1].score = INFINITY;
  CHECK_THROWS_AS(learner.learn(samples), InvalidInput);
}

TEST_CASE("the sample window keeps the last N samples", "[grouping_learner]") {
  CHECK_THROWS_AS(GroupingSampleWindow(0), InvalidInput);
  GroupingSampleWindow window(3);
  for (int i = 0; i < 5; ++i) window.add({{"AS" + std::to_string(i)}, "a", double(i), ""});
  CHECK(window.size() == 3);
  CHECK(window.total_added() == 5);
  std::multiset<double> scores;
  for (const auto& sample : window.samples()) scores.insert(sample.score);
  CHECK(scores == std::multiset<double>{2, 3, 4});
  window.clear();
  CHECK(window.samples().empty());
}

TEST_CASE("a group whose members hardly change keeps its previous name", "[grouping_learner]") {
  const auto schema = FeatureSchema::original();
  GroupingLearner learner(schema, options_with_min(300));
  const auto samples = asn_city_sessions(21, 1500);
  const auto fresh = learner.learn(samples);
  // A previous grouping with the same groups under other names (as a backend
  // that named them differently, or a tree that split in another order).
  auto renamed = [](const RuleNode& node, auto& self) -> RuleNode {
    if (const auto* group = std::get_if<std::string>(&node.node)) return RuleNode{"old:" + *group};
    const auto& split = std::get<RuleNode::Split>(node.node);
    RuleNode::Split copy;
    copy.feature = split.feature;
    for (const auto& [value, child] : split.table) copy.table.emplace(value, self(child, self));
    copy.otherwise = std::make_unique<RuleNode>(self(*split.otherwise, self));
    return RuleNode{std::move(copy)};
  };
  LearnedGrouping previous;
  previous.rules = std::make_shared<const RuleNode>(renamed(*fresh.rules, renamed));
  const auto next = learner.learn(asn_city_sessions(22, 1500), &previous);
  for (const auto& [name, size] : next.sizes) {
    INFO(name);
    if (size > 0) CHECK(name.starts_with("old:"));
  }

  // A previous grouping by Asn alone: a new (Asn, City) group holds a third
  // of an old group, far from "hardly changed": path names; an ASN that is
  // not split by city is the same group as before and keeps its old name.
  LearnedGrouping by_asn;
  RuleNode::Split split;
  split.feature = "Asn";
  for (const auto& asn : kAsns) split.table.emplace(asn, RuleNode{"old:" + asn});
  split.otherwise = std::make_unique<RuleNode>(RuleNode{"old:other"});
  by_asn.rules = std::make_shared<const RuleNode>(RuleNode{std::move(split)});
  const auto regrouped = learner.learn(samples, &by_asn);
  std::set<std::string> expected;
  for (const auto& name : names_of(fresh)) {
    const bool whole_asn = name.starts_with("Asn=AS") && name.find(';') == std::string::npos;
    expected.insert(whole_asn ? "old:" + name.substr(4) : name);
  }
  CHECK(names_of(regrouped) == expected);
}

namespace {

// Bandit-like samples: the best decision of each of 6 ASNs is fixed (4
// decisions, effects of sd 15); a policy tries the ASN's best decision with
// probability `exploit` and the others uniformly; every score drifts with
// time alike. Noise features: Os, ConnType and ObjectId (3000 values whose
// popularity moves with time) shift every decision's score by a per-value
// offset (sd 20, larger than the ASN effects), InitCdn and PlayerType do
// nothing.
std::vector<GroupingSample> bandit_sessions(std::uint64_t seed, std::size_t count, double exploit) {
  Rng truth(99);
  constexpr std::size_t kAsnCount = 6, kDecisionCount = 4;
  std::vector<double> effect(kAsnCount * kDecisionCount);
  for (auto& x : effect) x = 15 * normal(truth);
  std::vector<double> os_offset(5), conn_offset(4), object_offset(3000);
  for (auto* offsets : {&os_offset, &conn_offset, &object_offset})
    for (auto& x : *offsets) x = 20 * normal(truth);
  Rng rng(seed);
  std::vector<GroupingSample> samples;
  for (std::size_t i = 0; i < count; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(count);
    const auto asn = rng.below(kAsnCount);
    std::size_t best = 0;
    for (std::size_t d = 1; d < kDecisionCount; ++d)
      if (effect[asn * kDecisionCount + d] > effect[asn * kDecisionCount + best]) best = d;
    std::size_t decision = best;
    if (!(rng.uniform() < exploit)) decision = rng.below(kDecisionCount);
    const auto os = rng.below(5), conn = rng.below(4);
    // Objects 0..1499 early in the window, 1500..2999 late.
    const auto object = static_cast<std::size_t>(t * 1500) + rng.below(1500);
    GroupingSample sample;
    sample.features.assign(15, "");
    sample.features[4] = "AS" + std::to_string(asn);
    sample.features[5] = "AS" + std::to_string(asn) + "-city" + std::to_string(rng.below(3));
    sample.features[7] = "conn" + std::to_string(conn);
    sample.features[9] = "os" + std::to_string(os);
    sample.features[11] = "obj" + std::to_string(object);
    sample.features[12] = rng.below(2) ? "html5" : "flash";
    sample.features[14] = "cdn-" + std::to_string(rng.below(kDecisionCount));
    sample.decision = "cdn-" + std::to_string(decision);
    sample.score = effect[asn * kDecisionCount + decision] + os_offset[os] + conn_offset[conn] +
                   object_offset[object] + 30 * std::sin(6 * t) + 10 * normal(rng);
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace

TEST_CASE("offsets, drift and bandit-biased samples do not split, the relevant feature does",
          "[grouping_learner]") {
  const auto schema = FeatureSchema::original();
  GroupingLearner learner(schema, options_with_min(200));
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    for (double exploit : {0.6, 0.9}) {
      const auto samples = bandit_sessions(seed, 60000, exploit);
      const auto learned = learner.learn(samples);
      INFO("seed " << seed << ", exploit " << exploit << "\n" << format_rules(*learned.rules));
      // Asn, not the cities within it (each ASN's cities want the same
      // decision), and none of the offsets.
      CHECK(learned.split_features == std::vector<std::string>{"Asn"});
      std::size_t filled = 0;
      for (const auto& [name, size] : learned.sizes) filled += size > 0;
      CHECK(filled == 6);
    }
  }
}
