#include "evaluation/replay_estimator.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <queue>

#include "core/rng.hpp"

namespace pytheas::evaluation {
namespace {

struct GroupState {
  std::unique_ptr<Policy> policy;
  SnapshotPtr snapshot;
  double snapshot_time = 0;
  bool dirty = false;
};

struct PendingReward {
  double due = 0;
  std::uint32_t group = 0;
  std::uint32_t decision = 0;
  double reward = 0;
  std::uint64_t order = 0;  ///< ties apply in the order the sessions were kept
  bool operator>(const PendingReward& other) const {
    return due != other.due ? due > other.due : order > other.order;
  }
};

}  // namespace

ReplayRun replay_run(const SampleSet& set, const PolicyConfig& config, std::uint64_t seed,
                     double snapshot_interval_s, bool compress_time) {
  validate_policy_config(config);
  auto shared_config = std::make_shared<const PolicyConfig>(config);
  ReplayRun run;
  if (set.samples.empty()) return run;
  double floor = 1;
  for (const auto& sample : set.samples) floor = std::min(floor, sample.propensity);
  run.acceptance = floor;
  const double pace = compress_time ? floor : 1.0;  // the target's seconds per log second

  std::vector<GroupState> groups(set.groups.size());
  std::priority_queue<PendingReward, std::vector<PendingReward>, std::greater<>> pending;
  std::uint64_t kept_order = 0;
  Rng pick_rng(mix_seed(seed, 0));
  Rng accept_rng(mix_seed(seed, 1));
  std::vector<std::string_view> names;
  for (const auto& sample : set.samples) {
    const double now = sample.time * pace;
    while (!pending.empty() && pending.top().due <= now) {
      const auto& reward = pending.top();
      auto& group = groups[reward.group];
      group.policy->update(Outcome{set.decisions[reward.decision], reward.reward, reward.due, {}});
      group.dirty = true;
      pending.pop();
    }
    auto& group = groups[sample.group];
    if (!group.policy) group.policy = make_policy(shared_config, mix_seed(seed, sample.group + 2));
    if (!group.snapshot || (group.dirty && now - group.snapshot_time >= snapshot_interval_s)) {
      group.snapshot = group.policy->snapshot(now);
      group.snapshot_time = now;
      group.dirty = false;
    }
    const auto candidates = set.candidates_of(sample);
    names.clear();
    for (auto id : candidates) names.push_back(set.decisions[id]);
    const auto pick = group.snapshot->pick(Candidates(names), pick_rng);
    if (pick.index != sample.chosen) continue;
    ++run.agree;
    if (sample.propensity > floor && accept_rng.uniform() >= floor / sample.propensity) continue;
    run.rewards.push_back(sample.reward);
    pending.push(PendingReward{now + (sample.report_time - sample.time), sample.group,
                               set.chosen_id(sample), sample.reward, kept_order++});
  }
  return run;
}

Estimate replay_estimate(const SampleSet& set, const PolicyConfig& config,
                         const BootstrapOptions& options, double snapshot_interval_s,
                         bool compress_time) {
  const auto run = replay_run(set, config, options.seed, snapshot_interval_s, compress_time);
  Estimate estimate;
  estimate.estimator = "replay";
  estimate.agree = run.agree;
  estimate.n_effective = static_cast<double>(run.rewards.size());
  if (run.rewards.empty()) return estimate;
  double sum = 0;
  for (double reward : run.rewards) sum += reward;
  estimate.value = sum / static_cast<double>(run.rewards.size());
  const auto block = static_cast<std::size_t>(
      std::max(1.0, std::round(std::cbrt(static_cast<double>(run.rewards.size())))));
  const auto interval = block_mean_interval(run.rewards, block, options);
  estimate.ci_low = interval.low;
  estimate.ci_high = interval.high;
  return estimate;
}

}  // namespace pytheas::evaluation
