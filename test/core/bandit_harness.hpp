#pragma once
// Test harness: drives a Policy on Bernoulli arms, one pull per time unit, the
// way a node does (snapshot, pick among candidates, report the outcome).
// Deterministic for a given seed.

#include <functional>
#include <string>
#include <vector>

#include "core/policy.hpp"

namespace pytheas::testing {

struct BanditRun {
  double regret = 0;         ///< sum over pulls of (best mean - chosen mean)
  std::vector<int> choices;  ///< arm index per pull
  std::vector<int> pulls_per_arm;
};

/// means(t, arm) is arm's Bernoulli mean at time t. Pulls at t = start, start+1, ...
inline BanditRun run_bandit(Policy& policy, int arms, int horizon,
                            const std::function<double(int, int)>& means, std::uint64_t seed,
                            int start = 0) {
  std::vector<std::string> names;
  for (int a = 0; a < arms; ++a) names.push_back("arm" + std::to_string(a));
  std::vector<std::string_view> candidates(names.begin(), names.end());
  Rng pick_rng(seed);
  Rng reward_rng(seed ^ 0xABCDEF);
  BanditRun run;
  run.pulls_per_arm.assign(static_cast<std::size_t>(arms), 0);
  for (int t = start; t < start + horizon; ++t) {
    const auto choice = static_cast<int>(policy.pick(candidates, t, pick_rng).index);
    double best = 0;
    for (int a = 0; a < arms; ++a) best = std::max(best, means(t, a));
    const double mean = means(t, choice);
    run.regret += best - mean;
    run.choices.push_back(choice);
    ++run.pulls_per_arm[static_cast<std::size_t>(choice)];
    const double reward = reward_rng.uniform() < mean ? 1.0 : 0.0;
    policy.update({candidates[static_cast<std::size_t>(choice)], reward, double(t), candidates});
  }
  return run;
}

/// Share of the last `window` choices that went to `arm`.
inline double late_share(const BanditRun& run, int arm, std::size_t window) {
  std::size_t hits = 0;
  for (std::size_t i = run.choices.size() - window; i < run.choices.size(); ++i)
    hits += run.choices[i] == arm ? 1 : 0;
  return static_cast<double>(hits) / static_cast<double>(window);
}

}  // namespace pytheas::testing
