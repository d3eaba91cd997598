// Propensities are what off-policy evaluation divides by: for every policy a
// node may log with, the propensity a pick reports must be the real
// probability of that pick given the request's candidates, subsets included.

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/policy.hpp"

using namespace pytheas;

namespace {

// Picks `draws` times; checks that every pick of one candidate reports the
// same propensity and that the empirical share matches it (4 standard
// errors). Returns candidate -> propensity.
std::map<std::string, double> check_propensities(const DecisionSnapshot& snapshot,
                                                 const std::vector<std::string_view>& candidates,
                                                 int draws, std::uint64_t seed) {
  Rng rng(seed);
  std::map<std::string, int> counts;
  std::map<std::string, double> propensity;
  for (int i = 0; i < draws; ++i) {
    const auto pick = snapshot.pick(candidates, rng);
    const std::string name(candidates[pick.index]);
    ++counts[name];
    auto [it, added] = propensity.emplace(name, pick.propensity);
    if (!added) REQUIRE(pick.propensity == it->second);
  }
  double total = 0;
  for (const auto& [name, p] : propensity) {
    const double share = double(counts[name]) / draws;
    const double error = std::sqrt(p * (1 - p) / draws);
    INFO(name << ": share " << share << ", propensity " << p);
    CHECK(std::abs(share - p) <= 4 * error + 1e-12);
    total += p;
  }
  // Candidates never picked must have had (almost) no chance.
  CHECK(total == Approx(1).margin(1e-3));
  return propensity;
}

}  // namespace

TEST_CASE("egreedy: propensities are the real pick probabilities for any candidate subset",
          "[policy][propensity]") {
  PolicyConfig config;
  config.kind = "egreedy";
  config.epsilon = 0.3;
  auto policy = make_policy(config, 1);
  for (int i = 0; i < 5; ++i) {
    policy->update({"a", 10, 1, {}});
    policy->update({"b", 5, 1, {}});
    policy->update({"c", 1, 1, {}});
  }
  auto snapshot = policy->snapshot(2);
  // All arms offered: epsilon / 3 each, plus 1 - epsilon on the best (a).
  auto all = check_propensities(*snapshot, {"a", "b", "c"}, 40000, 3);
  CHECK(all["a"] == Approx(0.1 + 0.7));
  CHECK(all["b"] == Approx(0.1));
  // A subset with the best arm: the weights renormalized over the subset.
  auto with_best = check_propensities(*snapshot, {"b", "a"}, 40000, 4);
  CHECK(with_best["a"] == Approx(0.8 / 0.9));
  CHECK(with_best["b"] == Approx(0.1 / 0.9));
  // Without the best arm the exploit share has nowhere to go: uniform.
  auto without_best = check_propensities(*snapshot, {"c", "b"}, 40000, 5);
  CHECK(without_best["b"] == Approx(0.5));
  // An unseen candidate is explored first: propensity 1.
  auto unseen = check_propensities(*snapshot, {"a", "new"}, 1000, 6);
  CHECK(unseen["new"] == 1);
}

TEST_CASE("random, ducb and thompson: propensities are the real pick probabilities",
          "[policy][propensity]") {
  for (std::string kind : {"random", "ducb", "thompson"}) {
    DYNAMIC_SECTION(kind) {
      PolicyConfig config;
      config.kind = kind;
      auto policy = make_policy(config, 9);
      for (int i = 0; i < 20; ++i) {
        policy->update({"a", 1.0 + (i % 3), double(i), {}});
        policy->update({"b", 1.2 + (i % 2), double(i), {}});
        policy->update({"c", 0.5, double(i), {}});
      }
      auto snapshot = policy->snapshot(30);
      check_propensities(*snapshot, {"a", "b", "c"}, 40000, 7);
      check_propensities(*snapshot, {"c", "a"}, 40000, 8);
      if (kind == "random") {
        auto uniform = check_propensities(*snapshot, {"a", "b", "new"}, 30000, 9);
        CHECK(uniform["new"] == Approx(1.0 / 3));  // random does not explore unseen first
      }
    }
  }
}
