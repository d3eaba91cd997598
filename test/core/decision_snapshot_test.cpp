#include "core/decision_snapshot.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <thread>

#include "core/errors.hpp"

using namespace pytheas;

namespace {

ArmSnapshot arm(std::string name, double weight, double rank = 0) {
  ArmSnapshot a;
  a.name = std::move(name);
  a.weight = weight;
  a.rank = rank;
  return a;
}

// Counts how often each candidate is picked in `draws` picks, and checks every
// pick's propensity against `expected` (by candidate name).
std::map<std::string, int> tally(const DecisionSnapshot& snapshot,
                                 const std::vector<std::string_view>& candidates, int draws,
                                 const std::map<std::string, double>& expected) {
  Rng rng(42);
  std::map<std::string, int> counts;
  for (int i = 0; i < draws; ++i) {
    auto result = snapshot.pick(candidates, rng);
    REQUIRE(result.index < candidates.size());
    std::string name(candidates[result.index]);
    ++counts[name];
    REQUIRE(expected.count(name) == 1);
    REQUIRE(result.propensity == Approx(expected.at(name)));
  }
  return counts;
}

}  // namespace

TEST_CASE("hash_decision is 64-bit FNV-1a", "[snapshot]") {
  CHECK(hash_decision("") == 0xcbf29ce484222325ull);
  CHECK(hash_decision("a") == 0xaf63dc4c8601ec8cull);
  CHECK(hash_decision("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("rule 1: never-seen candidates are explored first and uniformly", "[snapshot]") {
  DecisionSnapshot snapshot("ducb", {arm("cdn-a", 1.0)}, 0, 1);
  std::vector<std::string_view> candidates{"cdn-a", "cdn-new1", "cdn-new2"};
  auto counts = tally(snapshot, candidates, 4000, {{"cdn-new1", 0.5}, {"cdn-new2", 0.5}});
  CHECK(counts.count("cdn-a") == 0);
  CHECK(counts["cdn-new1"] == Approx(2000).margin(200));
}

TEST_CASE("rule 2: candidates are sampled by weight renormalized over the request", "[snapshot]") {
  DecisionSnapshot snapshot("ducb", {arm("a", 0.5), arm("b", 0.3), arm("c", 0.2)}, 0, 1);
  std::vector<std::string_view> all{"a", "b", "c"};
  auto counts = tally(snapshot, all, 10000, {{"a", 0.5}, {"b", 0.3}, {"c", 0.2}});
  CHECK(counts["a"] == Approx(5000).margin(300));
  CHECK(counts["b"] == Approx(3000).margin(300));
  CHECK(counts["c"] == Approx(2000).margin(300));

  std::vector<std::string_view> subset{"c", "b"};
  auto sub = tally(snapshot, subset, 10000, {{"b", 0.6}, {"c", 0.4}});
  CHECK(sub["b"] == Approx(6000).margin(300));
}

TEST_CASE("rule 3: with zero weight the highest rank wins with propensity 1", "[snapshot]") {
  DecisionSnapshot snapshot("ducb", {arm("a", 1.0, 5), arm("b", 0, 2), arm("c", 0, 3)}, 0, 1);
  Rng rng(1);
  std::vector<std::string_view> candidates{"b", "c"};
  for (int i = 0; i < 50; ++i) {
    auto result = snapshot.pick(candidates, rng);
    CHECK(result.index == 1);
    CHECK(result.propensity == 1.0);
  }
  DecisionSnapshot tied("ducb", {arm("x", 0, 1), arm("y", 0, 1)}, 0, 1);
  std::vector<std::string_view> tie{"y", "x"};
  CHECK(tied.pick(tie, rng).index == 0);  // earliest candidate on ties
}

TEST_CASE("unseen_weight replaces rule 1 for non-exploring baselines", "[snapshot]") {
  DecisionSnapshot uniform("random", {arm("a", 1.0)}, 0, 1, 1.0);
  std::vector<std::string_view> candidates{"a", "b"};
  auto counts = tally(uniform, candidates, 4000, {{"a", 0.5}, {"b", 0.5}});
  CHECK(counts["a"] == Approx(2000).margin(200));

  DecisionSnapshot fixed("fixed", {arm("a", 1.0), arm("z", 0, 3)}, 0, 1, 0.0);
  Rng rng(3);
  std::vector<std::string_view> with_fixed{"new", "a"};
  CHECK(fixed.pick(with_fixed, rng).index == 1);
  std::vector<std::string_view> without_fixed{"new", "z"};
  CHECK(fixed.pick(without_fixed, rng).index == 1);  // rank beats unseen (-inf)
}

TEST_CASE("pick rejects empty and duplicated candidate lists", "[snapshot]") {
  DecisionSnapshot snapshot("ducb", {arm("a", 1.0)}, 0, 1);
  Rng rng(1);
  std::vector<std::string_view> none;
  CHECK_THROWS_AS(snapshot.pick(none, rng), InvalidInput);
  CHECK_THROWS_AS(DecisionSnapshot::uniform_pick(none, rng), InvalidInput);
  std::vector<std::string_view> twice{"a", "b", "a"};
  CHECK_THROWS_WITH(snapshot.pick(twice, rng),
                    Catch::Contains("duplicate") && Catch::Contains("'a'"));
  CHECK_THROWS_AS(DecisionSnapshot::uniform_pick(twice, rng), InvalidInput);

  // Beyond the stack buffer (64 candidates) the same checks hold.
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) names.push_back("cand-" + std::to_string(i));
  std::vector<std::string_view> many(names.begin(), names.end());
  auto result = snapshot.pick(many, rng);
  CHECK(result.propensity == Approx(1.0 / 100));  // all unseen
  many.push_back("cand-7");
  CHECK_THROWS_AS(snapshot.pick(many, rng), InvalidInput);
}

TEST_CASE("a snapshot with many arms finds candidates by fingerprint", "[snapshot]") {
  std::vector<ArmSnapshot> arms;
  for (int i = 0; i < 40; ++i) arms.push_back(arm("arm-" + std::to_string(i), i == 33 ? 1.0 : 0));
  DecisionSnapshot snapshot("ducb", arms, 0, 1);
  Rng rng(5);
  std::vector<std::string_view> candidates{"arm-3", "arm-33", "arm-39"};
  for (int i = 0; i < 20; ++i) CHECK(snapshot.pick(candidates, rng).index == 1);
  CHECK(snapshot.arms()[33].name == "arm-33");
  CHECK(snapshot.arms()[33].weight == 1.0);

  // Beyond 64 arms duplicates are still caught, with few or many candidates.
  std::vector<ArmSnapshot> many_arms;
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) {
    names.push_back("a-long-decision-name-" + std::to_string(i));
    many_arms.push_back(arm(names.back(), 1.0));
  }
  DecisionSnapshot large("ducb", many_arms, 0, 1);
  std::vector<std::string_view> all(names.begin(), names.end());
  CHECK(large.pick(all, rng).propensity == Approx(0.01));
  std::vector<std::string_view> few{all[70], all[5], all[70]};
  CHECK_THROWS_AS(large.pick(few, rng), InvalidInput);
  all.push_back(all[42]);
  CHECK_THROWS_AS(large.pick(all, rng), InvalidInput);
}

TEST_CASE("a snapshot rejects duplicate or empty arm names", "[snapshot]") {
  CHECK_THROWS_AS(DecisionSnapshot("ducb", {arm("a", 1), arm("a", 1)}, 0, 1), InvalidInput);
  CHECK_THROWS_AS(DecisionSnapshot("ducb", {arm("", 1)}, 0, 1), InvalidInput);
}

TEST_CASE("uniform_pick gives propensity 1/n", "[snapshot]") {
  Rng rng(9);
  std::vector<std::string_view> candidates{"a", "b", "c", "d"};
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 4000; ++i) {
    auto result = DecisionSnapshot::uniform_pick(candidates, rng);
    CHECK(result.propensity == 0.25);
    ++counts[result.index];
  }
  for (int count : counts) CHECK(count == Approx(1000).margin(150));
}

TEST_CASE("many threads pick from one snapshot concurrently", "[snapshot]") {
  auto snapshot = std::make_shared<const DecisionSnapshot>(
      "ducb", std::vector<ArmSnapshot>{arm("a", 0.9), arm("b", 0.1)}, 0, 1);
  std::vector<std::thread> threads;
  std::vector<int> picked_a(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Rng rng(static_cast<std::uint64_t>(t) + 1);
      std::vector<std::string_view> candidates{"a", "b"};
      for (int i = 0; i < 5000; ++i)
        if (snapshot->pick(candidates, rng).index == 0) ++picked_a[static_cast<std::size_t>(t)];
    });
  for (auto& thread : threads) thread.join();
  for (int count : picked_a) CHECK(count == Approx(4500).margin(250));
}
