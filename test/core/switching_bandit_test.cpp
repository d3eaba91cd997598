// The abruptly-changing bandit of Garivier & Moulines (ALT 2011): K = 3
// Bernoulli arms, means 0.5 and 0.3 throughout, the third 0.9 for
// 3000 <= t < 5000 and 0.4 otherwise; horizon 10^4, one pull per time unit.
// Discounted and sliding-window UCB must adapt to the breakpoints and beat
// plain UCB, which keeps playing the third arm long after t = 5000.

#include <catch2/catch.hpp>

#include <cmath>

#include "bandit_harness.hpp"
#include "core/policy.hpp"

using namespace pytheas;
using pytheas::testing::run_bandit;

namespace {

constexpr int kHorizon = 10000;
constexpr int kSeeds = 4;

double switching(int t, int arm) {
  if (arm == 0) return 0.5;
  if (arm == 1) return 0.3;
  return (t >= 3000 && t < 5000) ? 0.9 : 0.4;
}

PolicyConfig paper_config(std::string kind) {
  PolicyConfig config;
  config.kind = std::move(kind);
  config.pick_list = 1;  // one index evaluation per pull, as in the paper
  // B = 0.25 x the observed range (1 here). With B = 1 the discounted counts
  // (at most ~1/(1 - gamma) = 283) keep the bonus above 0.2 for every arm,
  // wider than the gaps, and D-UCB explores too much (docs/POLICIES.md).
  config.exploration = 0.25;
  // Garivier & Moulines' tuning for Upsilon = 2 breakpoints: discount
  // gamma = 1 - sqrt(Upsilon / T) / 4, window tau = 4 sqrt(T ln T).
  const double gamma = 1 - std::sqrt(2.0 / kHorizon) / 4;
  config.half_life_s = std::log(2.0) / -std::log(gamma);
  config.window_s = 4 * std::sqrt(kHorizon * std::log(double(kHorizon)));
  config.change_threshold = 0;  // the paper's algorithms (detection: its own test below)
  config.max_observations = 0;  // the paper's D-UCB forgets by its discount only
  return config;
}

double stationary(int /*t*/, int arm) {
  return arm == 0 ? 0.5 : arm == 1 ? 0.3 : 0.4;
}

// Mean regret over kSeeds runs in `world` (arm means by time and arm).
double mean_regret(const PolicyConfig& config, double (*world)(int, int) = switching) {
  double total = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    auto policy = make_policy(config, static_cast<std::uint64_t>(seed));
    total += run_bandit(*policy, 3, kHorizon, world, static_cast<std::uint64_t>(seed) * 101).regret;
  }
  return total / kSeeds;
}

}  // namespace

TEST_CASE("discounted and sliding-window UCB beat plain UCB on a switching bandit", "[switching]") {
  const double ucb = mean_regret(paper_config("ucb"));
  auto textbook = paper_config("ucb");
  textbook.exploration = 1;  // plain UCB's better setting here
  const double ucb_textbook = mean_regret(textbook);
  const double ducb = mean_regret(paper_config("ducb"));
  const double swucb = mean_regret(paper_config("swucb"));
  INFO("regret ucb " << ucb << " ucb(B=1) " << ucb_textbook << " ducb " << ducb << " swucb "
                     << swucb);
  // Measured (4 seeds): ucb ~755, ucb(B=1) ~535, ducb ~226, swucb ~202.
  CHECK(ducb < 0.5 * ucb);
  CHECK(swucb < 0.5 * ucb);
  CHECK(ducb < 0.6 * ucb_textbook);
  CHECK(swucb < 0.6 * ucb_textbook);
}

TEST_CASE("the default pick lists adapt to the switch too", "[switching]") {
  auto ducb = paper_config("ducb");
  ducb.pick_list = 10;
  auto ucb = paper_config("ucb");
  ucb.pick_list = 10;
  const double ducb_regret = mean_regret(ducb);
  const double ucb_regret = mean_regret(ucb);
  auto swucb = paper_config("swucb");
  swucb.pick_list = 10;
  const double swucb_regret = mean_regret(swucb);
  INFO("regret ucb " << ucb_regret << " ducb " << ducb_regret << " swucb " << swucb_regret);
  // Measured (4 seeds): ucb ~858, ducb ~212, swucb ~413.
  CHECK(ducb_regret < 0.5 * ucb_regret);
  CHECK(swucb_regret < 0.6 * ucb_regret);
}

// Change detection on the same switching bandit. With the paper's one pick
// per pull it lowers D-UCB's regret (measured 226 -> 194); with the default
// 10-pick lists D-UCB already spreads its picks and detection changes little
// (212 -> 210). On a stationary bandit with the same arms (no switch) it
// costs at most 10% more (measured: the same).
TEST_CASE("change detection lowers D-UCB's regret on the switching bandit", "[switching][change]") {
  for (int pick_list : {1, 10}) {
    auto plain = paper_config("ducb");
    plain.pick_list = pick_list;
    auto detecting = plain;
    detecting.change_threshold = kTestedChangeThreshold;
    const double without = mean_regret(plain);
    const double with = mean_regret(detecting);
    const double stationary_without = mean_regret(plain, stationary);
    const double stationary_with = mean_regret(detecting, stationary);
    INFO("pick list " << pick_list << ": switching regret " << without << " -> " << with
                      << ", stationary " << stationary_without << " -> " << stationary_with);
    if (pick_list == 1)
      CHECK(with < 0.9 * without);
    else
      CHECK(with < 1.02 * without);
    CHECK(stationary_with <= 1.1 * stationary_without);
  }
}
