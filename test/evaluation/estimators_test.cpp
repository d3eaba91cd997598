// The estimators on hand-computable sample sets, then statistically on
// synthetic logs whose true values are known.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "evaluation/evaluator.hpp"
#include "evaluation/replay_estimator.hpp"
#include "evaluation/reward_model.hpp"
#include "evaluation/stationary_estimators.hpp"
#include "test/support/temp_dir.hpp"

using namespace pytheas::evaluation;
using pytheas::PolicyConfig;

namespace {

struct Logged {
  std::uint32_t chosen;  // 0 = a, 1 = b
  double propensity;
  double reward;
  std::uint32_t group = 0;
};

// Sessions offering {a, b}, one second apart, rewards arriving at once.
SampleSet two_arm_set(const std::vector<Logged>& logged, std::size_t groups = 1) {
  SampleSet set;
  set.decisions = {"a", "b"};
  for (std::size_t g = 0; g < groups; ++g) set.groups.push_back("g" + std::to_string(g));
  for (std::size_t i = 0; i < logged.size(); ++i) {
    Sample s;
    s.time = s.report_time = static_cast<double>(i);
    s.group = logged[i].group;
    s.candidates = static_cast<std::uint32_t>(set.candidate_ids.size());
    s.candidate_count = 2;
    set.candidate_ids.push_back(0);
    set.candidate_ids.push_back(1);
    s.chosen = logged[i].chosen;
    s.propensity = logged[i].propensity;
    s.reward = logged[i].reward;
    set.samples.push_back(s);
  }
  return set;
}

TargetPolicy target(const std::string& name) {
  return parse_target_policies(name, PolicyConfig{}).front();
}

const Estimate& find(const std::vector<Estimate>& estimates, const std::string& name) {
  for (const auto& e : estimates)
    if (e.estimator == name) return e;
  FAIL("no estimator " << name);
  return estimates.front();
}

}  // namespace

TEST_CASE("IPS, SNIPS and DR match the hand computation", "[evaluation][estimators]") {
  // a: rewards 1 (p 0.5), 2 (p 0.8); b: 0 (p 0.5), 4 (p 0.2). Reward model:
  // m(a) = 1.5, m(b) = 2.
  const auto set = two_arm_set({{0, 0.5, 1}, {1, 0.5, 0}, {0, 0.8, 2}, {1, 0.2, 4}});
  const RewardModel model(set);
  CHECK(model.predict(0, 0) == Approx(1.5));
  CHECK(model.predict(0, 1) == Approx(2));
  BootstrapOptions options;
  options.resamples = 2000;

  SECTION("fixed:a: weights 2, 0, 1.25, 0") {
    const auto t = target("fixed:a");
    REQUIRE(is_stationary_on(t, set));
    const auto estimates = stationary_estimates(set, t, model, options);
    CHECK(find(estimates, "ips").value == Approx((2 * 1 + 1.25 * 2) / 4.0));     // 1.125
    CHECK(find(estimates, "snips").value == Approx((2 * 1 + 1.25 * 2) / 3.25));  // 1.3846
    // DR terms: 1.5 + w (r - 1.5) = 0.5, 1.5, 2.125, 1.5.
    CHECK(find(estimates, "dr").value == Approx((0.5 + 1.5 + 2.125 + 1.5) / 4.0));
    CHECK(find(estimates, "ips").n_effective == Approx(3.25 * 3.25 / (4 + 1.5625)));
    CHECK(find(estimates, "ips").agree == 2);
    for (const auto& e : estimates) {
      CHECK(e.ci_low <= e.value);
      CHECK(e.ci_high >= e.value);
      CHECK(e.ci_low < e.ci_high);
    }
  }
  SECTION("random: weights 1, 1, 0.625, 2.5") {
    const auto estimates = stationary_estimates(set, target("random"), model, options);
    CHECK(find(estimates, "ips").value == Approx((1 + 0 + 1.25 + 10) / 4.0));
    CHECK(find(estimates, "snips").value == Approx(12.25 / 5.125));
    // DR: 1.75 + w (r - m): 1.25, -0.25, 2.0625, 6.75.
    CHECK(find(estimates, "dr").value == Approx((1.25 - 0.25 + 2.0625 + 6.75) / 4.0));
    CHECK(find(estimates, "ips").agree == 4);
  }
  SECTION("the logging policy's own mean") {
    const auto estimate = on_policy_estimate(set, options);
    CHECK(estimate.value == Approx(7.0 / 4));
    CHECK(estimate.n_effective == 4);
  }
  SECTION("a target that never agrees: no values, agree 0") {
    auto never = two_arm_set({{0, 0.5, 1}, {0, 0.5, 2}});
    const auto estimates =
        stationary_estimates(never, target("fixed:b"), RewardModel(never), options);
    CHECK(find(estimates, "ips").agree == 0);
    CHECK(std::isnan(find(estimates, "ips").value));
  }
}

TEST_CASE("the reward model falls back to the decision's mean, then the overall mean",
          "[evaluation][estimators]") {
  // Group 0 logged only a (reward 2); group 1 logged b (4) and a (6).
  const auto set = two_arm_set({{0, 0.5, 2, 0}, {1, 0.5, 4, 1}, {0, 0.5, 6, 1}}, 2);
  const RewardModel model(set);
  CHECK(model.predict(0, 0) == Approx(2));
  CHECK(model.predict(1, 0) == Approx(6));
  CHECK(model.predict(0, 1) == Approx(4));  // group 0 never logged b: b's mean
  CHECK(model.predict(0, 7) == Approx(4));  // an unknown decision: the overall mean
}

TEST_CASE("replay keeps exactly the sessions where the target agrees (uniform logging)",
          "[evaluation][replay]") {
  const auto set = two_arm_set({{0, 0.5, 1}, {1, 0.5, 10}, {0, 0.5, 2}, {1, 0.5, 20}, {0, 0.5, 3}});
  const auto run = replay_run(set, target("fixed:a").config, 1);
  CHECK(run.agree == 3);
  CHECK(run.rewards == std::vector<double>{1, 2, 3});
  const auto estimate = replay_estimate(set, target("fixed:a").config, BootstrapOptions{});
  CHECK(estimate.value == Approx(2));
  CHECK(estimate.n_effective == 3);
  CHECK(estimate.ci_low >= 1);
  CHECK(estimate.ci_high <= 3);
}

// Herding is invisible in a log (docs/EVALUATION.md, assumption 1): evaluate
// warns when a target piles onto one decision far beyond the log's shares.
TEST_CASE("a target sending far more sessions to one decision than the log did is warned about",
          "[evaluation][replay]") {
  std::vector<Logged> logged;
  for (int i = 0; i < 80; ++i) logged.push_back({static_cast<std::uint32_t>(i % 2), 0.5, 1.0 * i});
  const auto set = two_arm_set(logged);  // one session a second, a and b alternating
  CHECK(peak_decision_share(set) == Approx(0.5));
  const auto results =
      evaluate_targets(set, {target("logged"), target("fixed:a")}, EvaluatorOptions{});
  REQUIRE(results.size() == 2);
  CHECK(results[0].warning.empty());
  CHECK(find(results[1].estimates, "replay").peak_share == Approx(1));
  CHECK_THAT(results[1].warning, Catch::Contains("100%") && Catch::Contains("at most 50%"));
}

TEST_CASE("evaluate_targets: kinds, estimators per kind, and never-agreeing targets",
          "[evaluation][estimators]") {
  const auto set = two_arm_set({{0, 0.5, 1}, {1, 0.5, 0}, {0, 0.5, 2}, {1, 0.5, 4}});
  const auto targets = parse_target_policies("logged,random,fixed:a,ducb,fixed:zz", PolicyConfig{});
  EvaluatorOptions options;
  options.bootstrap.resamples = 100;
  std::size_t progress_calls = 0;
  options.progress = [&](std::size_t done, std::size_t total) {
    ++progress_calls;
    CHECK(done <= total);
  };
  const auto results = evaluate_targets(set, targets, options);
  REQUIRE(results.size() == 5);
  CHECK(progress_calls == 5);
  CHECK(results[0].estimates.size() == 1);  // logged: on-policy
  CHECK(results[0].estimates[0].estimator == "on-policy");
  CHECK(results[1].stationary);
  CHECK(results[1].estimates.size() == 4);  // ips, snips, dr, replay
  CHECK(results[2].stationary);
  CHECK_FALSE(results[3].stationary);
  REQUIRE(results[3].estimates.size() == 1);
  CHECK(results[3].estimates[0].estimator == "replay");
  CHECK(results[4].estimates.empty());
  CHECK(results[4].error ==
        "policy 'fixed:zz' never agrees with the log: decision 'zz' is never a candidate in it");

  CHECK_THROWS_WITH(parse_target_policies("ducb,bogus", PolicyConfig{}),
                    Catch::StartsWith("unknown policy 'bogus'"));
  CHECK_THROWS_WITH(parse_target_policies("random,random", PolicyConfig{}),
                    "policy 'random' given twice");
  CHECK_THROWS_AS(parse_target_policies("fixed:", PolicyConfig{}), pytheas::InvalidInput);
}

namespace {

// A stationary three-armed world: arm means 1.0, 0.6, 0.2, Gaussian noise
// 0.5, logged by an ε-greedy-like policy that favours arm 2 (p = 0.8, 0.1,
// 0.1) or, with `uniform`, uniformly.
// The synthetic worlds' noise: normal, sd 0.5 (Box-Muller).
double noise_of(pytheas::Rng& rng) {
  return std::sqrt(-2 * std::log(1 - rng.uniform())) * std::cos(2 * M_PI * rng.uniform()) * 0.5;
}

SampleSet synthetic_log(std::size_t n, bool uniform, std::uint64_t seed) {
  const double means[3] = {1.0, 0.6, 0.2};
  const double skewed[3] = {0.1, 0.1, 0.8};
  pytheas::Rng rng(seed);
  SampleSet set;
  set.decisions = {"a", "b", "c"};
  set.groups = {"g"};
  for (std::size_t i = 0; i < n; ++i) {
    Sample s;
    s.time = s.report_time = static_cast<double>(i);
    s.candidates = static_cast<std::uint32_t>(set.candidate_ids.size());
    s.candidate_count = 3;
    for (std::uint32_t k = 0; k < 3; ++k) set.candidate_ids.push_back(k);
    const double u = rng.uniform();
    std::uint32_t arm = 0;
    double cumulative = 0;
    for (std::uint32_t k = 0; k < 3; ++k) {
      cumulative += uniform ? 1.0 / 3 : skewed[k];
      if (u < cumulative) {
        arm = k;
        break;
      }
      arm = k;
    }
    s.chosen = arm;
    s.propensity = uniform ? 1.0 / 3 : skewed[arm];
    const double noise = noise_of(rng);
    s.reward = means[arm] + noise;
    set.samples.push_back(s);
  }
  return set;
}

}  // namespace

TEST_CASE("on a skewed log the estimators find the true means of other policies",
          "[evaluation][estimators][statistical]") {
  // Truth: fixed:a = 1.0 (rarely logged: p 0.1), random = 0.6.
  const auto set = synthetic_log(20000, false, 7);
  const RewardModel model(set);
  BootstrapOptions options;
  options.resamples = 500;
  for (const auto& [name, truth] : {std::pair{"fixed:a", 1.0}, std::pair{"random", 0.6}}) {
    INFO(name);
    const auto estimates = stationary_estimates(set, target(name), model, options);
    for (const auto& e : estimates) {
      INFO(e.estimator << " " << e.value << " [" << e.ci_low << ", " << e.ci_high << "]");
      CHECK(e.ci_low <= truth);
      CHECK(e.ci_high >= truth);
      CHECK(std::abs(e.value - truth) < 0.06);
    }
    // Rejection-sampled replay keeps ~p_min/p of the agreeing sessions.
    const auto replay = replay_estimate(set, target(name).config, options);
    INFO("replay " << replay.value);
    CHECK(std::abs(replay.value - truth) < 0.08);
    CHECK(replay.n_effective > 500);
  }
  // fixed:a is rarely logged: its effective sample is a small share of n.
  const auto ips = stationary_estimates(set, target("fixed:a"), model, options);
  CHECK(ips[0].n_effective < 0.15 * 20000);
}

TEST_CASE("replay of a learning policy matches the same policy run online on 1/K of the sessions",
          "[evaluation][replay][statistical]") {
  // Li et al.: replaying T uniformly logged sessions with K arms runs the
  // target over about T/K sessions. Compare with UCB run online in the same
  // world for that many sessions, averaged over seeds.
  constexpr std::size_t kSessions = 9000;
  PolicyConfig ucb;
  ucb.kind = "ucb";
  double replayed = 0, online = 0;
  constexpr int kSeeds = 4;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    const auto set = synthetic_log(kSessions, true, 100 + seed);
    replayed += replay_estimate(set, ucb, BootstrapOptions{}).value / kSeeds;
    // Online: the policy picks, the world answers.
    const double means[3] = {1.0, 0.6, 0.2};
    auto policy = pytheas::make_policy(ucb, static_cast<std::uint64_t>(seed));
    pytheas::Rng rng(900 + seed);
    const std::vector<std::string_view> arms = {"a", "b", "c"};
    double sum = 0;
    for (std::size_t t = 0; t < kSessions / 3; ++t) {
      const auto pick = policy->pick(arms, static_cast<double>(t), rng);
      const double noise = noise_of(rng);
      const double reward = means[pick.index] + noise;
      sum += reward;
      policy->update({arms[pick.index], reward, static_cast<double>(t), {}});
    }
    online += sum / (kSessions / 3) / kSeeds;
  }
  INFO("replay " << replayed << " online " << online);
  CHECK(std::abs(replayed - online) < 0.05);
  CHECK(replayed > 0.7);  // it learned: random would score 0.6
}

TEST_CASE("make_samples: grouping by features, time scale, reported decisions only",
          "[evaluation][samples]") {
  pytheas::test::TempDir dir("pytheas-samples");
  const std::string header =
      R"({"type":"header","format":"pytheas-decision-log","version":1,"features":["Asn","City"],"node":"","opened_at":1.0})";
  auto decision = [](const std::string& id, const std::string& asn, const std::string& city,
                     double time) {
    return R"({"type":"decision","time":)" + std::to_string(time) + R"(,"event_id":")" + id +
           R"(","group":"logged-)" + asn + R"(","features":[")" + asn + R"(",")" + city +
           R"("],"candidates":["a","b"],"decision":"a","propensity":0.5,"policy":"random"})";
  };
  auto report = [](const std::string& id, double time) {
    return R"({"type":"report","time":)" + std::to_string(time) + R"(,"event_id":")" + id +
           R"(","score":1,"join":"event_id"})";
  };
  std::ofstream(dir.path() / "decisions-20240101T000000.000Z-000001.jsonl")
      << header << "\n"
      << decision("e1", "1", "X", 100) << "\n"
      << decision("e2", "1", "Y", 101) << "\n"
      << decision("e3", "2", "X", 102) << "\n"
      << report("e1", 102) << "\n"
      << report("e3", 104) << "\n";
  const auto log = read_decision_log(dir.path());
  const auto logged = make_samples(log, "logged", 10);
  REQUIRE(logged.samples.size() == 2);
  CHECK(logged.groups == std::vector<std::string>{"logged-1", "logged-2"});
  CHECK(logged.samples[1].time == Approx(20));         // (102 - 100) * 10
  CHECK(logged.samples[1].report_time == Approx(40));  // (104 - 100) * 10
  const auto by_city = make_samples(log, "City", 1);
  CHECK(by_city.groups == std::vector<std::string>{"City=X"});
  const auto global = make_samples(log, "global", 1);
  CHECK(global.groups == std::vector<std::string>{"global"});
  CHECK_THROWS_WITH(make_samples(log, "Asn,Os", 1), Catch::Contains("Os"));
}

// A learning policy that discounts by time sees, in a replay, only the kept
// p_min share of a group's sessions. On the log's own clock they are K times
// sparser than live, so the discounted policy holds fewer observations and
// explores more; with the target's clock compressed to the kept share
// (replay_estimator.hpp) it sees the live density. Here D-UCB with a short
// half-life (5 sessions' time) in a world whose best arm swaps halfway: the
// compressed replay of T uniformly logged sessions matches D-UCB run online
// over T/K sessions at one session per second; the log-clock replay does not.
TEST_CASE("replay with the target's clock compressed matches a discounted policy run live",
          "[evaluation][replay][statistical]") {
  constexpr std::size_t kSessions = 30000;
  constexpr int kSeeds = 4;
  PolicyConfig ducb;
  ducb.kind = "ducb";
  ducb.half_life_s = 5;
  auto world = [](std::size_t t, std::size_t horizon, std::uint32_t arm) {
    const double before[3] = {1.0, 0.6, 0.2};
    const double after[3] = {0.2, 0.6, 1.0};
    return t < horizon / 2 ? before[arm] : after[arm];
  };
  double compressed = 0, log_clock = 0, online = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    auto set = synthetic_log(kSessions, true, 300 + seed);
    for (std::size_t i = 0; i < set.samples.size(); ++i) {  // the swapping world
      auto& sample = set.samples[i];
      sample.reward += world(i, kSessions, sample.chosen) - (1.0 - 0.4 * sample.chosen);
    }
    compressed += replay_estimate(set, ducb, BootstrapOptions{}, 0, true).value / kSeeds;
    log_clock += replay_estimate(set, ducb, BootstrapOptions{}, 0, false).value / kSeeds;
    auto policy = pytheas::make_policy(ducb, static_cast<std::uint64_t>(seed));
    pytheas::Rng rng(700 + seed);
    const std::vector<std::string_view> arms = {"a", "b", "c"};
    double sum = 0;
    constexpr std::size_t kLive = kSessions / 3;
    for (std::size_t t = 0; t < kLive; ++t) {
      const auto pick = policy->pick(arms, static_cast<double>(t), rng);
      const double noise = noise_of(rng);
      const double reward = world(t, kLive, static_cast<std::uint32_t>(pick.index)) + noise;
      sum += reward;
      policy->update({arms[pick.index], reward, static_cast<double>(t), {}});
    }
    online += sum / kLive / kSeeds;
  }
  INFO("online " << online << ", replay compressed " << compressed << ", on the log's clock "
                 << log_clock);
  CHECK(std::abs(compressed - online) < 0.02);
  CHECK(std::abs(compressed - online) < 0.5 * std::abs(log_clock - online));
}
