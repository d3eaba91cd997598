#include "core/policy.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "bandit_harness.hpp"
#include "core/errors.hpp"

using namespace pytheas;
using pytheas::testing::late_share;
using pytheas::testing::run_bandit;

namespace {

PolicyConfig config_of(std::string kind) {
  PolicyConfig config;
  config.kind = std::move(kind);
  return config;
}

double stationary(int /*t*/, int arm) {
  static constexpr double kMeans[] = {0.2, 0.5, 0.8};
  return kMeans[arm];
}

}  // namespace

TEST_CASE("every learning policy converges to the best of stationary arms", "[policy]") {
  for (std::string kind : {"ducb", "ucb", "swucb", "egreedy", "thompson"}) {
    DYNAMIC_SECTION(kind) {
      auto config = config_of(kind);
      config.half_life_s = 1000;
      config.window_s = 1000;
      auto policy = make_policy(config, 7);
      auto run = run_bandit(*policy, 3, 4000, stationary, 11);
      INFO("pulls " << run.pulls_per_arm[0] << " " << run.pulls_per_arm[1] << " "
                    << run.pulls_per_arm[2]);
      CHECK(late_share(run, 2, 1000) > 0.8);
      // Far below the regret of a uniform policy (0.3 per pull on average).
      CHECK(run.regret < 0.1 * 4000);
    }
  }
}

TEST_CASE("baselines: random is uniform and fixed always plays its decision", "[policy]") {
  auto random = make_policy(config_of("random"), 3);
  auto uniform_run = run_bandit(*random, 3, 3000, stationary, 5);
  for (int pulls : uniform_run.pulls_per_arm) CHECK(pulls == Approx(1000).margin(120));

  auto config = config_of("fixed");
  config.fixed_decision = "arm0";
  auto fixed = make_policy(config, 3);
  auto fixed_run = run_bandit(*fixed, 3, 500, stationary, 5);
  CHECK(fixed_run.pulls_per_arm[0] == 500);

  // Without its decision among the candidates, fixed takes the best mean seen.
  Rng rng(1);
  fixed->update({"arm2", 1.0, 600});
  fixed->update({"arm1", 0.0, 600});
  std::vector<std::string_view> others{"arm1", "arm2"};
  CHECK(fixed->pick(others, 600, rng).index == 1);
}

TEST_CASE("a never-seen candidate is explored before known ones", "[policy]") {
  for (std::string kind : {"ducb", "ucb", "swucb", "egreedy", "thompson"}) {
    DYNAMIC_SECTION(kind) {
      auto policy = make_policy(config_of(kind), 1);
      for (int t = 0; t < 50; ++t) {
        policy->update({"old-a", 1.0, double(t)});
        policy->update({"old-b", 0.5, double(t)});
      }
      Rng rng(2);
      std::vector<std::string_view> candidates{"old-a", "old-b", "new"};
      auto result = policy->pick(candidates, 50, rng);
      CHECK(candidates[result.index] == "new");
      CHECK(result.propensity == 1.0);
      CHECK(policy->arm_count() == 2);
      policy->update({"new", 0.7, 51, candidates});
      CHECK(policy->arm_count() == 3);
    }
  }
}

TEST_CASE("candidates may differ per request", "[policy]") {
  auto policy = make_policy(config_of("ducb"), 1);
  for (int t = 0; t < 200; ++t) {
    policy->update({"a", 0.9, double(t)});
    policy->update({"b", 0.5, double(t)});
    policy->update({"c", 0.1, double(t)});
  }
  auto snapshot = policy->snapshot(200);
  Rng rng(4);
  std::vector<std::string_view> bc{"c", "b"};
  int picked_b = 0;
  for (int i = 0; i < 1000; ++i) picked_b += snapshot->pick(bc, rng).index == 1 ? 1 : 0;
  CHECK(picked_b > 700);  // b is the better of the two offered
}

TEST_CASE("arms not seen for forget_after_s are dropped", "[policy]") {
  auto config = config_of("ducb");
  config.forget_after_s = 100;
  auto policy = make_policy(config, 1);
  policy->update({"gone", 1.0, 0});
  policy->update({"kept", 1.0, 50});
  CHECK(policy->arm_count() == 2);
  auto snapshot = policy->snapshot(120);
  REQUIRE(policy->arm_count() == 1);
  CHECK(snapshot->arms().at(0).name == "kept");
  // Adding a new arm also sweeps stale ones.
  policy->update({"fresh", 1.0, 400});
  CHECK(policy->arm_count() == 1);
}

TEST_CASE("time discounting halves weight every half-life independent of batching", "[policy]") {
  auto config = config_of("ducb");
  config.half_life_s = 10;
  auto policy = make_policy(config, 1);
  policy->update({"a", 1.0, 0});
  policy->update({"a", 3.0, 10});
  auto snapshot = policy->snapshot(20);
  const auto& arm = snapshot->arms().at(0);
  CHECK(arm.count == Approx(0.25 + 0.5));
  CHECK(arm.mean == Approx((0.25 * 1 + 0.5 * 3) / 0.75));

  // Same observations reported in one batch or spread out: same state.
  auto batched = make_policy(config, 1);
  auto spread = make_policy(config, 1);
  for (int i = 0; i < 10; ++i) spread->update({"a", double(i), double(i)});
  for (int i = 0; i < 10; ++i) batched->update({"a", double(i), double(i)});
  CHECK(batched->snapshot(30)->arms()[0].count == Approx(spread->snapshot(30)->arms()[0].count));
}

TEST_CASE("very long runs of time keep the lazy discount exact", "[policy]") {
  auto config = config_of("ducb");
  config.half_life_s = 1;
  config.forget_after_s = 0;  // keep the arm however old
  auto policy = make_policy(config, 1);
  // Unix-epoch times and many rebases (the factor passes 2^64 every 64 s).
  const double start = 1.7e9;
  for (int i = 0; i < 1000; ++i) policy->update({"a", 1.0, start + i});
  auto arm = policy->snapshot(start + 999)->arms().at(0);
  CHECK(arm.count == Approx(2.0).epsilon(1e-9));  // sum of 2^-k
  CHECK(arm.mean == Approx(1.0));
  CHECK(policy->snapshot(start + 1e6)->arms().at(0).count == 0);
}

TEST_CASE("original_ducb reproduces the original's batch discount and settings", "[policy]") {
  const auto original = PolicyConfig::original_ducb();
  CHECK(original.kind == "ducb");
  CHECK(original.batch_s == 2);
  CHECK(original.batch_discount == 0.8);
  CHECK(original.exploration == 1000);
  CHECK_FALSE(original.normalize);
  CHECK(original.pick_list == 10);

  auto policy = make_policy(original, 1);
  policy->update({"a", 10.0, 0.5});       // batch 0
  policy->update({"a", 20.0, 1.9});       // batch 0
  policy->update({"b", 5.0, 2.1});        // batch 1
  auto snapshot = policy->snapshot(4.0);  // batch 2: batch 0 counts 0.8^2, batch 1 0.8
  const auto& a = snapshot->arms().at(0);
  const auto& b = snapshot->arms().at(1);
  CHECK(a.count == Approx(2 * 0.64));
  CHECK(a.mean == Approx(15.0));
  CHECK(b.count == Approx(0.8));
  // Index = mean + 1000 * sqrt(2 ln N / n), N the discounted total.
  const double total = 2 * 0.64 + 0.8;
  CHECK(a.rank == Approx(15.0 + 1000 * std::sqrt(2 * std::log(total) / (2 * 0.64))));
  // The 10-pick list: weights are multiples of 1/10 and sum to 1.
  CHECK(a.weight + b.weight == Approx(1.0));
  CHECK(a.weight * 10 == Approx(std::round(a.weight * 10)));
}

TEST_CASE("normalization makes UCB decisions independent of the QoE scale", "[policy]") {
  // The same bandit with scores x and 1000 * x + 7 makes the same choices.
  auto small = make_policy(config_of("ducb"), 9);
  auto large = make_policy(config_of("ducb"), 9);
  std::vector<std::string_view> candidates{"a", "b", "c"};
  Rng rng_small(3), rng_large(3), rewards(4);
  const double means[] = {0.3, 0.6, 0.5};
  int disagreements = 0;
  for (int t = 0; t < 2000; ++t) {
    const auto pick_small = small->pick(candidates, t, rng_small).index;
    const auto pick_large = large->pick(candidates, t, rng_large).index;
    disagreements += pick_small != pick_large ? 1 : 0;
    const double score = rewards.uniform() < means[pick_small] ? 1.0 : 0.0;
    small->update({candidates[pick_small], score, double(t)});
    large->update({candidates[pick_large], 1000 * score + 7, double(t)});
  }
  CHECK(disagreements == 0);
}

TEST_CASE("a policy is deterministic given its seed", "[policy]") {
  for (std::string kind : {"ducb", "swucb", "egreedy", "thompson", "random"}) {
    DYNAMIC_SECTION(kind) {
      auto first = make_policy(config_of(kind), 17);
      auto second = make_policy(config_of(kind), 17);
      auto run1 = run_bandit(*first, 3, 500, stationary, 23);
      auto run2 = run_bandit(*second, 3, 500, stationary, 23);
      CHECK(run1.choices == run2.choices);
      CHECK(first->serialize(0) == second->serialize(0));
    }
  }
}

TEST_CASE("snapshots carry the policy kind and time and an increasing version", "[policy]") {
  auto policy = make_policy(config_of("egreedy"), 1);
  policy->update({"a", 1.0, 5});
  auto first = policy->snapshot(6);
  auto second = policy->snapshot(3);  // earlier than the last update: clamped
  CHECK(first->policy() == "egreedy");
  CHECK(first->taken_at() == 6);
  CHECK(second->taken_at() == 5);
  CHECK(second->version() > first->version());
}

TEST_CASE("swucb counts only the observations inside its window", "[policy]") {
  auto config = config_of("swucb");
  config.window_s = 160;  // 16 buckets of 10 s
  config.forget_after_s = 0;
  auto policy = make_policy(config, 1);
  for (int t = 0; t < 100; ++t) policy->update({"a", 0.0, double(t)});
  for (int t = 200; t < 300; ++t) policy->update({"a", 1.0, double(t)});
  auto arm = policy->snapshot(299)->arms().at(0);
  CHECK(arm.mean == 1.0);  // the zeros are more than a window old
  CHECK(arm.count == 100);
  // Long after, nothing is in the window: the arm is unplayed again.
  auto later = policy->snapshot(1000)->arms().at(0);
  CHECK(later.count == 0);
  CHECK(later.rank == std::numeric_limits<double>::infinity());
}

TEST_CASE("swucb keeps the right windows when stale arms are forgotten", "[policy]") {
  auto config = config_of("swucb");
  config.window_s = 1000;
  config.forget_after_s = 50;
  auto policy = make_policy(config, 1);
  policy->update({"stale", 5.0, 0});
  for (int t = 10; t < 40; ++t) {
    policy->update({"b", 0.25, double(t)});
    policy->update({"c", 0.75, double(t)});
  }
  auto snapshot = policy->snapshot(60);  // forgets "stale", compacting the windows
  REQUIRE(policy->arm_count() == 2);
  CHECK(snapshot->arms()[0].name == "b");
  CHECK(snapshot->arms()[0].mean == 0.25);
  CHECK(snapshot->arms()[0].count == 30);
  CHECK(snapshot->arms()[1].mean == 0.75);
  policy->update({"d", 1.0, 61});
  auto after = policy->snapshot(61);
  REQUIRE(after->arms().size() == 3);
  CHECK(after->arms()[2].count == 1);
  CHECK(after->arms()[1].count == 30);
  auto restored = restore_policy(policy->serialize(0), 0);
  CHECK(restored->serialize(0) == policy->serialize(0));
}

TEST_CASE("snapshots share the policy's arm names until the arms change", "[policy]") {
  auto policy = make_policy(config_of("ducb"), 3);
  policy->update({"a", 1.0, 0});
  policy->update({"b", 2.0, 0});
  auto first = policy->snapshot(1);
  policy->update({"a", 1.5, 1});
  auto second = policy->snapshot(2);
  CHECK(first->names() == second->names());  // same list, not a copy
  policy->update({"c", 0.5, 2});
  auto third = policy->snapshot(3);
  CHECK(third->names() != second->names());
  REQUIRE(third->arms().size() == 3);
  CHECK(third->arms()[2].name == "c");
  CHECK(second->arms().size() == 2);  // older snapshots keep their own list
  CHECK(second->arms()[1].name == "b");
  CHECK(third->policy() == "ducb");
  CHECK_THROWS_AS(third->arms().at(3), std::out_of_range);
}

TEST_CASE("fixed pins its decision into snapshots without adding an arm", "[policy]") {
  auto config = config_of("fixed");
  config.fixed_decision = "cdn-fixed";
  auto policy = make_policy(config, 1);
  policy->update({"other", 1.0, 0});
  auto snapshot = policy->snapshot(1);
  REQUIRE(snapshot->arms().size() == 2);
  CHECK(snapshot->arms()[1].name == "cdn-fixed");
  CHECK(policy->arm_count() == 1);
  Rng rng(1);
  std::vector<std::string_view> candidates{"other", "cdn-fixed"};
  CHECK(snapshot->pick(candidates, rng).index == 1);
}

TEST_CASE("a restored policy shares settings equal to the given ones", "[policy]") {
  auto settings = std::make_shared<const PolicyConfig>(config_of("ducb"));
  auto policy = make_policy(settings, 5);
  policy->update({"a", 1.0, 0});
  const auto bytes = policy->serialize(0);
  auto shared = restore_policy(bytes, 0, settings);
  CHECK(&shared->config() == settings.get());
  auto other = std::make_shared<const PolicyConfig>(config_of("egreedy"));
  auto own = restore_policy(bytes, 0, other);
  CHECK(&own->config() != other.get());
  CHECK(own->config() == *settings);
  CHECK(own->serialize(0) == bytes);
  CHECK(shared->serialize(0) == bytes);
}

TEST_CASE("policies sharing a pool share their arm names", "[policy]") {
  auto pool = ArmNamesPool::make();
  auto a = make_policy(config_of("ducb"), 1);
  auto b = make_policy(config_of("ducb"), 2);
  a->share_arm_names(*pool);
  b->share_arm_names(*pool);
  for (auto* policy : {a.get(), b.get()}) {
    policy->update({"cdn-x", 1.0, 0});
    policy->update({"cdn-y", 2.0, 0});
  }
  CHECK(a->snapshot(1)->names() == b->snapshot(1)->names());
  auto restored = restore_policy(a->serialize(0), 0);
  CHECK(restored->snapshot(1)->names() != a->snapshot(1)->names());  // private until shared
  restored->share_arm_names(*pool);
  CHECK(restored->snapshot(1)->names() == a->snapshot(1)->names());
  CHECK(restored->serialize(0) == a->serialize(0));
}

// Inheritance as a prior (issue #25): a regroup's child starts from its
// parent's estimates worth at most kInheritedEvidence observations per arm,
// so its own reports outweigh them after a few.
TEST_CASE("an inherited state keeps the parent's means with a bounded weight",
          "[policy][inherit]") {
  for (const char* kind : {"ducb", "swucb", "ucb", "thompson", "egreedy"}) {
    INFO(kind);
    auto parent = make_policy(config_of(kind), 1);
    for (int i = 0; i < 1000; ++i) {
      parent->update({"a", 1.0, i * 0.01});
      parent->update({"b", 0.0, i * 0.01});
    }
    parent->update({"c", 0.5, 10});  // one observation: already under the cap
    auto child = restore_policy(inherited_policy_state(parent->serialize(0), 0), 0);
    auto before = parent->snapshot(10);
    auto after = child->snapshot(10);
    REQUIRE(after->arms().size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& was = before->arms()[i];
      const auto& now = after->arms()[i];
      CHECK(now.name == was.name);
      CHECK(now.mean == Approx(was.mean));
      CHECK(now.count <= kInheritedEvidence + 1e-9);
      CHECK(now.count == Approx(std::min(was.count, kInheritedEvidence)));
    }
  }
}

TEST_CASE("a child's own reports outweigh its inherited prior within a few", "[policy][inherit]") {
  // The parent saw a thousand sessions say a is better; this child's own
  // sessions say b is: after 20 reports per arm its estimates are its own.
  // Change detection off: the prior's weight alone is under test (with it
  // on, the unlimited copy would also follow the child's reports, by alarm).
  auto config = config_of("ducb");
  config.change_threshold = 0;
  auto parent = make_policy(config, 1);
  for (int i = 0; i < 1000; ++i) {
    parent->update({"a", 1.0, i * 0.01});
    parent->update({"b", 0.0, i * 0.01});
  }
  auto child = restore_policy(inherited_policy_state(parent->serialize(0), 0), 0);
  auto unlimited = restore_policy(parent->serialize(0), 0);  // the old way: the parent's data
  for (int i = 0; i < 20; ++i)
    for (auto* policy : {child.get(), unlimited.get()}) {
      policy->update({"a", 0.0, 10 + i * 0.1});
      policy->update({"b", 1.0, 10 + i * 0.1});
    }
  auto mine = child->snapshot(12);
  auto old = unlimited->snapshot(12);
  auto mean = [](const SnapshotPtr& snapshot, std::string_view arm) {
    for (const auto& a : snapshot->arms())
      if (a.name == arm) return a.mean;
    return -1.0;
  };
  CHECK(mean(mine, "b") > 0.75);
  CHECK(mean(mine, "a") < 0.25);
  CHECK(mean(old, "b") < 0.1);  // still the parent's view after 20 of its own
  CHECK(mean(old, "a") > 0.9);
}
