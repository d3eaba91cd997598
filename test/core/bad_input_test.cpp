// Every bad input core/ can receive gets a precise InvalidInput (or
// CorruptState) and leaves the policy exactly as it was: the serialized state
// before and after a rejected call is byte-identical.

#include <catch2/catch.hpp>

#include <limits>

#include "core/errors.hpp"
#include "core/policy.hpp"

using namespace pytheas;

namespace {

std::unique_ptr<Policy> trained(const std::string& kind) {
  PolicyConfig config;
  config.kind = kind;
  config.fixed_decision = std::string(1, 'a');  // (not = "a": a GCC 12 -Wrestrict false positive)
  auto policy = make_policy(config, 5);
  for (int t = 0; t < 20; ++t) {
    policy->update({"a", 0.8, double(t)});
    policy->update({"b", 0.4, double(t)});
  }
  return policy;
}

}  // namespace

TEST_CASE("bad updates are rejected and leave the state unchanged", "[bad-input]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::string_view> candidates{"a", "b"};
  for (std::string kind : {"ducb", "ucb", "swucb", "egreedy", "thompson", "random", "fixed"}) {
    DYNAMIC_SECTION(kind) {
      auto policy = trained(kind);
      const std::string before = policy->serialize(0);
      CHECK_THROWS_WITH(policy->update({"a", nan, 30}), Catch::Contains("not finite"));
      CHECK_THROWS_AS(policy->update({"a", inf, 30}), InvalidInput);
      CHECK_THROWS_AS(policy->update({"a", -inf, 30}), InvalidInput);
      CHECK_THROWS_AS(policy->update({"new", nan, 30}), InvalidInput);  // no arm is added
      CHECK_THROWS_WITH(policy->update({"", 1.0, 30}), Catch::Contains("empty decision"));
      CHECK_THROWS_WITH(policy->update({"c", 1.0, 30, candidates}),
                        Catch::Contains("'c'") && Catch::Contains("not among"));
      CHECK_THROWS_AS(policy->update({"a", 1.0, nan}), InvalidInput);
      CHECK_THROWS_AS(policy->update({"a", 1.0, inf}), InvalidInput);
      CHECK(policy->serialize(0) == before);
      CHECK(policy->arm_count() == 2);
      // A valid update still works afterwards.
      policy->update({"b", 1.0, 30, candidates});
      CHECK(policy->serialize(0) != before);
    }
  }
}

TEST_CASE("bad picks are rejected", "[bad-input]") {
  auto policy = trained("ducb");
  Rng rng(1);
  std::vector<std::string_view> none;
  CHECK_THROWS_WITH(policy->pick(none, 30, rng), Catch::Contains("empty candidate list"));
  std::vector<std::string_view> twice{"a", "a"};
  CHECK_THROWS_AS(policy->pick(twice, 30, rng), InvalidInput);
  CHECK_THROWS_AS(policy->snapshot(std::numeric_limits<double>::quiet_NaN()), InvalidInput);
}

TEST_CASE("make_policy names the parameter out of range", "[bad-input]") {
  auto rejects = [](auto mutate, const char* field) {
    PolicyConfig config;
    mutate(config);
    CHECK_THROWS_WITH(make_policy(config, 1), Catch::Contains(field));
  };
  rejects([](PolicyConfig& c) { c.kind = "bogus"; }, "bogus");
  rejects([](PolicyConfig& c) { c.half_life_s = 0; }, "half_life_s");
  rejects([](PolicyConfig& c) { c.half_life_s = -1; }, "half_life_s");
  rejects([](PolicyConfig& c) { c.batch_s = -1; }, "batch_s");
  rejects([](PolicyConfig& c) { c.batch_discount = 0; }, "batch_discount");
  rejects([](PolicyConfig& c) { c.batch_discount = 1.5; }, "batch_discount");
  rejects([](PolicyConfig& c) { c.exploration = std::numeric_limits<double>::quiet_NaN(); },
          "exploration");
  rejects([](PolicyConfig& c) { c.pick_list = 0; }, "pick_list");
  rejects([](PolicyConfig& c) { c.window_s = 0; }, "window_s");
  rejects([](PolicyConfig& c) { c.epsilon = 1.5; }, "epsilon");
  rejects([](PolicyConfig& c) { c.epsilon = -0.1; }, "epsilon");
  rejects([](PolicyConfig& c) { c.thompson_draws = 0; }, "thompson_draws");
  rejects([](PolicyConfig& c) { c.forget_after_s = -1; }, "forget_after_s");
  rejects(
      [](PolicyConfig& c) {
        c.kind = "fixed";
        c.fixed_decision.clear();
      },
      "fixed_decision");
  CHECK_THROWS_AS(make_policy(std::shared_ptr<const PolicyConfig>(), 1), InvalidInput);
}

TEST_CASE("a shared config serves many policies", "[bad-input]") {
  auto config = std::make_shared<const PolicyConfig>();
  auto first = make_policy(config, 1);
  auto second = make_policy(config, 2);
  CHECK(&first->config() == &second->config());
}
