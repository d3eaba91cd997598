#include "evaluation/replay_estimator.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

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

// The target's groups: fixed (the sample set's) or learned as it goes.
class ReplayGroups {
 public:
  ReplayGroups(const SampleSet& set, const LearnedReplayGrouping* learned)
      : set_(set), learned_(learned) {
    if (!learned_) {
      groups_.resize(set.groups.size());
      return;
    }
    FeatureSchema schema(set.feature_names);
    std::shared_ptr<const Grouping> start = make_feature_grouping(schema, learned_->start_by);
    regrouper_.emplace(std::move(schema), learned_->regrouper, std::move(start));
    next_regroup_ = learned_->warmup_s;
    values_.resize(set.feature_names.size());
  }

  std::vector<GroupState>& states() { return groups_; }
  std::size_t regroups() const { return regroups_; }

  /// The target's group of `sample` under the grouping in force.
  std::uint32_t group_of(const Sample& sample) {
    if (!learned_) return sample.group;
    const auto ids = set_.features_of(sample);
    for (std::size_t i = 0; i < ids.size(); ++i) values_[i] = set_.feature_values[ids[i]];
    return id_of(regrouper_->current()->key(values_));
  }

  /// Whether a regroup is due at or before `now`; its time in `when`.
  bool regroup_due(double now, double& when) const {
    if (!learned_ || now < next_regroup_) return false;
    when = next_regroup_;
    return true;
  }

  /// The logged sessions up to `now` (target time) reach the regrouper.
  void sample_until(double now, double pace) {
    if (!learned_) return;
    while (next_sample_ < set_.samples.size() && set_.samples[next_sample_].time * pace <= now) {
      const auto& sample = set_.samples[next_sample_++];
      const auto ids = set_.features_of(sample);
      GroupingSample grouping_sample;
      grouping_sample.features.reserve(ids.size());
      for (auto id : ids) grouping_sample.features.push_back(set_.feature_values[id]);
      grouping_sample.decision = set_.decisions[set_.chosen_id(sample)];
      grouping_sample.score = sample.reward;
      regrouper_->add(std::move(grouping_sample));
    }
  }

  /// Regroups at `now`; when the rules changed, `heir` maps each retired
  /// group id to its heir's, and each new group starts from its parent's state.
  void regroup(double now, std::unordered_map<std::uint32_t, std::uint32_t>& heir) {
    while (next_regroup_ <= now) next_regroup_ += learned_->interval_s;
    auto outcome = regrouper_->regroup();
    if (!outcome) return;
    ++regroups_;
    const auto* learned = regrouper_->learned();
    std::unordered_map<std::uint32_t, std::string>
        states;  // parents first: a parent may be a child
    std::vector<std::pair<std::uint32_t, std::uint32_t>> copies;
    for (const auto& [child, parent] : outcome->parent) {
      if (child == parent) continue;
      const auto parent_id = id_of(parent);
      copies.emplace_back(id_of(child), parent_id);
      if (groups_[parent_id].policy)
        states.try_emplace(parent_id, groups_[parent_id].policy->serialize(now));
    }
    for (const auto& [child, parent] : copies) {
      auto& group = groups_[child];
      group = GroupState{};
      if (auto state = states.find(parent); state != states.end())
        group.policy = inherit_policy(state->second, now);
    }
    for (const auto& [old_key, heir_key] : outcome->heir)
      if (!learned->sizes.contains(old_key)) heir[id_of(old_key)] = id_of(heir_key);
  }

 private:
  std::uint32_t id_of(const std::string& key) {
    auto [it, added] = ids_.emplace(key, static_cast<std::uint32_t>(groups_.size()));
    if (added) groups_.emplace_back();
    return it->second;
  }

  const SampleSet& set_;
  const LearnedReplayGrouping* learned_;
  std::vector<GroupState> groups_;
  std::optional<Regrouper> regrouper_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::string_view> values_;
  double next_regroup_ = 0;
  std::size_t next_sample_ = 0;
  std::size_t regroups_ = 0;
};

// replay_run over `set` as given, the target's clock slowed by `pace_factor`.
ReplayRun replay_run_paced(const SampleSet& set, const PolicyConfig& config, std::uint64_t seed,
                           double snapshot_interval_s, bool compress_time,
                           const LearnedReplayGrouping* learned, double pace_factor) {
  validate_policy_config(config);
  auto shared_config = std::make_shared<const PolicyConfig>(config);
  ReplayRun run;
  if (set.samples.empty()) return run;
  double floor = 1;
  for (const auto& sample : set.samples) floor = std::min(floor, sample.propensity);
  run.acceptance = floor;
  const double pace = (compress_time ? floor : 1.0) * pace_factor;

  ReplayGroups replay_groups(set, learned);
  auto& groups = replay_groups.states();
  // A min-heap by (due, order) in a vector, so a regroup can re-key its entries.
  std::vector<PendingReward> pending;
  std::uint64_t kept_order = 0;
  Rng pick_rng(mix_seed(seed, 0));
  Rng accept_rng(mix_seed(seed, 1));
  std::vector<std::string_view> names;
  std::unordered_map<std::uint32_t, std::uint32_t> heir;
  auto deliver = [&](double until) {
    while (!pending.empty() && pending.front().due <= until) {
      std::pop_heap(pending.begin(), pending.end(), std::greater<>{});
      const auto reward = pending.back();
      pending.pop_back();
      auto& group = groups[reward.group];
      if (!group.policy)  // a learned group created by a regroup with no parent state
        group.policy = make_policy(shared_config, mix_seed(seed, reward.group + 2));
      group.policy->update(Outcome{set.decisions[reward.decision], reward.reward, reward.due, {}});
      group.dirty = true;
    }
  };
  for (const auto& sample : set.samples) {
    const double now = sample.time * pace;
    double when = 0;
    while (replay_groups.regroup_due(now, when)) {
      deliver(when);
      replay_groups.sample_until(when, pace);
      heir.clear();
      replay_groups.regroup(when, heir);
      if (!heir.empty())
        for (auto& reward : pending)
          if (auto it = heir.find(reward.group); it != heir.end()) reward.group = it->second;
    }
    deliver(now);
    replay_groups.sample_until(now, pace);
    const auto group_id = replay_groups.group_of(sample);
    auto& group = groups[group_id];
    if (!group.policy) group.policy = make_policy(shared_config, mix_seed(seed, group_id + 2));
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
    run.kept.push_back(static_cast<std::uint32_t>(&sample - set.samples.data()));
    pending.push_back(PendingReward{now + (sample.report_time - sample.time), group_id,
                                    set.chosen_id(sample), sample.reward, kept_order++});
    std::push_heap(pending.begin(), pending.end(), std::greater<>{});
  }
  run.regroups = replay_groups.regroups();
  for (const auto& group : groups) run.groups += group.policy != nullptr;
  return run;
}

double mean_of(const std::vector<double>& values) {
  double sum = 0;
  for (double value : values) sum += value;
  return sum / static_cast<double>(values.size());
}

}  // namespace

ReplayRun replay_run(const SampleSet& set, const PolicyConfig& config, std::uint64_t seed,
                     double snapshot_interval_s, bool compress_time,
                     const LearnedReplayGrouping* learned, double thin) {
  if (thin < 1) {  // a random `thin` share of the sessions, on a clock `thin` times slower
    SampleSet part = set;
    part.samples.clear();
    Rng rng(mix_seed(seed, 0x7417));
    for (const auto& sample : set.samples)
      if (rng.uniform() < thin) part.samples.push_back(sample);
    return replay_run_paced(part, config, seed, snapshot_interval_s, compress_time, learned, thin);
  }
  return replay_run_paced(set, config, seed, snapshot_interval_s, compress_time, learned, 1);
}

double peak_decision_share(const SampleSet& set, const std::vector<std::uint32_t>* samples) {
  constexpr double kWindow = 60;
  constexpr std::size_t kLeast = 20;
  const std::size_t n = samples ? samples->size() : set.samples.size();
  auto at = [&](std::size_t i) -> const Sample& {
    return set.samples[samples ? (*samples)[i] : i];
  };
  std::vector<std::size_t> counts(set.decisions.size());
  double peak = NAN;
  std::size_t begin = 0;
  while (begin < n) {
    const double end_time = at(begin).time + kWindow;
    std::fill(counts.begin(), counts.end(), 0);
    std::size_t end = begin;
    for (; end < n && at(end).time < end_time; ++end) ++counts[set.chosen_id(at(end))];
    if (end - begin >= kLeast) {
      const auto top = *std::max_element(counts.begin(), counts.end());
      const double share = static_cast<double>(top) / static_cast<double>(end - begin);
      if (std::isnan(peak) || share > peak) peak = share;
    }
    begin = end;
  }
  return peak;
}

Estimate replay_estimate(const SampleSet& set, const PolicyConfig& config,
                         const BootstrapOptions& options, double snapshot_interval_s,
                         bool compress_time, const LearnedReplayGrouping* learned,
                         const ReplayRepeat& repeat) {
  const auto run =
      replay_run(set, config, options.seed, snapshot_interval_s, compress_time, learned);
  Estimate estimate;
  estimate.estimator = "replay";
  estimate.agree = run.agree;
  estimate.n_effective = static_cast<double>(run.rewards.size());
  if (run.rewards.empty()) return estimate;
  estimate.value = mean_of(run.rewards);
  estimate.peak_share = peak_decision_share(set, &run.kept);
  const auto block = static_cast<std::size_t>(
      std::max(1.0, std::round(std::cbrt(static_cast<double>(run.rewards.size())))));
  const auto interval = block_mean_interval(run.rewards, block, options);
  estimate.ci_low = interval.low;
  estimate.ci_high = interval.high;
  if (repeat.runs <= 1 && !repeat.sparsity_bound) return estimate;

  // More runs: their mean, and the spread between them (each run's picks and
  // kept sessions differ, and so may its path: its regroups, what it locked
  // onto) added to run 0's interval on each side.
  const std::size_t runs = std::max<std::size_t>(1, repeat.runs);
  std::vector<double> means{estimate.value};
  double agree = static_cast<double>(run.agree), kept = estimate.n_effective;
  for (std::size_t r = 1; r < runs; ++r) {
    const auto other = replay_run(set, config, mix_seed(options.seed, 1000 + r),
                                  snapshot_interval_s, compress_time, learned);
    if (other.rewards.empty()) continue;
    means.push_back(mean_of(other.rewards));
    agree += static_cast<double>(other.agree);
    kept += static_cast<double>(other.rewards.size());
  }
  const double value = mean_of(means);
  double spread = 0;
  for (double mean : means) spread += (mean - value) * (mean - value);
  if (means.size() > 1) spread = std::sqrt(spread / static_cast<double>(means.size() - 1));
  const double z = 1.959963984540054;  // the 95% normal quantile
  const double below = estimate.value - interval.low, above = interval.high - estimate.value;
  estimate.value = value;
  estimate.ci_low = value - std::sqrt(below * below + z * z * spread * spread);
  estimate.ci_high = value + std::sqrt(above * above + z * z * spread * spread);
  estimate.agree = static_cast<std::size_t>(std::lround(agree / static_cast<double>(means.size())));
  estimate.n_effective = kept / static_cast<double>(means.size());

  if (repeat.sparsity_bound) {
    // The same runs on a random half of the log, on a clock half as fast: as
    // dense a stream, half as long. A learner that improves with data does
    // worse there; extrapolating that loss (as 1/length) to the live run's
    // 1/p_min times the length bounds how much better the live run could be.
    double half = 0;
    std::size_t halves = 0;
    for (std::size_t r = 0; r < runs; ++r) {
      const auto part = replay_run(set, config, mix_seed(options.seed, 2000 + r),
                                   snapshot_interval_s, compress_time, learned, 0.5);
      if (part.rewards.empty()) continue;
      half += mean_of(part.rewards);
      ++halves;
    }
    if (halves > 0) {
      half /= static_cast<double>(halves);
      estimate.sparsity_bound = value + (1 - run.acceptance) * (value - half);
      estimate.ci_high = std::max(estimate.ci_high, estimate.sparsity_bound);
    }
  }
  return estimate;
}

}  // namespace pytheas::evaluation
