#include "simulation/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "core/thread_cpu.hpp"
#include "simulation/trace_loader.hpp"

namespace pytheas::sim {
namespace {

enum class LaneKind { kCore, kCfa, kOracle };

const std::vector<std::string>& core_policies() {
  static const std::vector<std::string> names = {"labels", "ducb",    "ducb-original", "swucb",
                                                 "ucb",    "egreedy", "thompson",      "random"};
  return names;
}

struct LaneSpec {
  std::string name, policy, grouping;
};

LaneSpec parse_lane(const std::string& text, const std::string& default_grouping) {
  LaneSpec spec;
  spec.name = text;
  const auto at = text.rfind('@');  // the last: a fixed:D decision may hold '@'
  spec.policy = text.substr(0, at);
  spec.grouping = at == std::string::npos ? default_grouping : text.substr(at + 1);
  const auto& core = core_policies();
  if (spec.policy == "fixed:")
    throw InvalidInput("policy 'fixed:' needs a decision, e.g. fixed:cdn-a");
  if (spec.policy != "cfa" && spec.policy != "oracle" && !spec.policy.starts_with("fixed:") &&
      std::find(core.begin(), core.end(), spec.policy) == core.end())
    throw InvalidInput("unknown policy '" + spec.policy +
                       "' (expected labels, ducb, ducb-original, swucb, ucb, egreedy, thompson, "
                       "random, fixed:DECISION, cfa or oracle)");
  return spec;
}

// One policy being simulated, with its own groups, pending reports and costs.
class Lane {
 public:
  Lane(LaneSpec spec, std::size_t grouping_index, const SimulatorOptions& options,
       std::uint64_t seed)
      : spec_(std::move(spec)),
        grouping_index_(grouping_index),
        delay_s_(options.report_delay_s),
        snapshot_interval_s_(options.snapshot_interval_s),
        seed_(seed),
        rng_(seed) {
    if (spec_.policy == "cfa") {
      kind_ = LaneKind::kCfa;
      cfa_.emplace(options.cfa, mix_seed(seed, 1));
    } else if (spec_.policy == "oracle") {
      kind_ = LaneKind::kOracle;
    } else {
      kind_ = LaneKind::kCore;
      if (spec_.policy == "ducb-original") {
        policy_config_ = PolicyConfig::original_ducb();
      } else if (spec_.policy == "labels") {
        policy_config_ = options.policy;  // the default; each group asks policy_for
        policy_for_ = options.policy_for;
      } else if (spec_.policy.starts_with("fixed:")) {
        policy_config_ = options.policy;
        policy_config_.kind = "fixed";
        policy_config_.fixed_decision = spec_.policy.substr(6);
      } else {
        policy_config_ = options.policy;
        policy_config_.kind = spec_.policy;
      }
      make_policy(policy_config_, seed);  // validates the config up front
    }
  }

  /// This lane's decisions feed the learned grouping's samples.
  void set_sampler() { sampler_ = true; }
  bool is_oracle() const { return kind_ == LaneKind::kOracle; }
  std::size_t grouping_index() const { return grouping_index_; }
  /// (session index in the last batch, decision, score) of a sampler lane.
  const std::vector<std::tuple<std::size_t, std::uint32_t, double>>& samples() const {
    return samples_;
  }

  void process(const MinuteBatch& batch, const TraceLoader& loader,
               const SimulatorOptions& options) {
    const double start = thread_cpu_seconds();
    if (batch.transition && batch.transition->grouping == grouping_index_ &&
        !batch.sessions.empty())
      apply(*batch.transition, loader, options, batch.sessions.front().time_s);
    samples_.clear();
    // LoadMap shares: of the whole minute, counted from its first batch.
    if (batch.minute_start) counts_.clear();
    counts_.resize(loader.decision_count(), 0);
    const double total = static_cast<double>(batch.minute_sessions);
    const std::size_t stride = loader.grouping_count();
    for (std::size_t i = 0; i < batch.sessions.size(); ++i) {
      const auto& session = batch.sessions[i];
      const auto group = batch.groups[i * stride + grouping_index_];
      deliver_reports(session.time_s, loader);
      const SimOption* options = batch.options.data() + session.first_option;
      const std::size_t chosen = choose(session, options, group, total, loader);
      const auto& option = options[chosen];
      const double share = static_cast<double>(++counts_[option.decision]) / total;
      const double cost = option.cost * loader.load_factor(option.load, share);
      costs_.push_back(static_cast<float>(cost));
      if (sampler_) samples_.emplace_back(i, option.decision, -cost);
      if (kind_ != LaneKind::kOracle)
        pending_.push_back({session.time_s + delay_s_, group, option.decision, -cost});
    }
    seconds_ += thread_cpu_seconds() - start;
  }

  LaneResult finish(std::size_t groups) {
    LaneResult result;
    result.changes_detected = retired_changes_;
    for (const auto& group : groups_)
      if (group.policy) result.changes_detected += group.policy->changes_detected();
    result.name = spec_.name;
    result.policy = spec_.policy;
    result.grouping = spec_.grouping;
    result.sessions = costs_.size();
    result.groups = groups;
    result.seconds = seconds_;
    result.session_costs = std::move(costs_);
    return result;
  }

 private:
  struct Pending {
    double due_s;
    std::uint32_t group;
    std::uint32_t decision;
    double score;
  };
  struct CoreGroup {
    std::unique_ptr<Policy> policy;
    SnapshotPtr snapshot;
    double snapshot_time = 0;
    bool dirty = false;
  };

  // A regrouping of this lane's grouping: reports in flight for retired
  // groups go to their heirs; each new group starts from a copy of its
  // parent's policy state (all parents are serialized before any child is
  // written: a parent may be another group's child).
  void apply(const GroupTransition& transition, const TraceLoader& loader,
             const SimulatorOptions& options, double now) {
    if (!transition.heirs.empty()) {
      std::unordered_map<std::uint32_t, std::uint32_t> heir(transition.heirs.begin(),
                                                            transition.heirs.end());
      for (auto& report : pending_)
        if (auto it = heir.find(report.group); it != heir.end()) report.group = it->second;
    }
    if (kind_ != LaneKind::kCore) return;  // cfa keeps its per-group state by id
    std::unordered_map<std::uint32_t, std::string> states;
    for (const auto& [child, parent] : transition.copies)
      if (parent < groups_.size() && groups_[parent].policy)
        states.try_emplace(parent, groups_[parent].policy->serialize(now));
    std::vector<SimulatorOptions::Inherited> inherited;
    for (const auto& [child, parent] : transition.copies) {
      if (child >= groups_.size()) groups_.resize(child + 1);
      auto& group = groups_[child];
      if (group.policy) retired_changes_ += group.policy->changes_detected();
      group = CoreGroup{};
      auto state = states.find(parent);
      if (state == states.end()) continue;                // the parent never served this lane: cold
      group.policy = inherit_policy(state->second, now);  // a prior, as a node does
      if (options.on_regroup) {
        const auto& keys = loader.group_keys(grouping_index_);
        inherited.push_back(
            {keys[child], keys[parent], state->second, group.policy->serialize(now)});
      }
    }
    if (options.on_regroup) options.on_regroup(spec_.name, now, inherited);
  }

  void deliver_reports(double now, const TraceLoader& loader) {
    while (!pending_.empty() && pending_.front().due_s <= now) {
      const auto& report = pending_.front();
      if (kind_ == LaneKind::kCfa) {
        cfa_->report(report.group, report.decision, report.score, report.due_s);
      } else {
        auto& group = core_group(report.group, loader);
        group.policy->update(
            Outcome{loader.decision_name(report.decision), report.score, report.due_s, {}});
        group.dirty = true;
      }
      pending_.pop_front();
    }
  }

  CoreGroup& core_group(std::uint32_t id, const TraceLoader& loader) {
    if (id >= groups_.size()) groups_.resize(id + 1);
    auto& group = groups_[id];
    if (!group.policy) {
      const auto seed = group_policy_seed(seed_, id);
      group.policy = policy_for_
                         ? make_policy(policy_for_(loader.group_keys(grouping_index_)[id]), seed)
                         : make_policy(policy_config_, seed);
    }
    return group;
  }

  std::size_t choose(const SimSession& session, const SimOption* options, std::uint32_t group_id,
                     double total, const TraceLoader& loader) {
    const std::size_t n = session.option_count;
    switch (kind_) {
      case LaneKind::kOracle: {
        std::size_t best = 0;
        double best_cost = INFINITY;
        for (std::size_t k = 0; k < n; ++k) {
          const double share = static_cast<double>(counts_[options[k].decision] + 1) / total;
          const double cost = options[k].cost * loader.load_factor(options[k].load, share);
          if (cost < best_cost) {
            best_cost = cost;
            best = k;
          }
        }
        return best;
      }
      case LaneKind::kCfa: {
        candidate_ids_.resize(n);
        for (std::size_t k = 0; k < n; ++k) candidate_ids_[k] = options[k].decision;
        return cfa_->choose(group_id, candidate_ids_, session.time_s);
      }
      case LaneKind::kCore: {
        auto& group = core_group(group_id, loader);
        if (!group.snapshot ||
            (group.dirty && session.time_s - group.snapshot_time >= snapshot_interval_s_)) {
          group.snapshot = group.policy->snapshot(session.time_s);
          group.snapshot_time = session.time_s;
          group.dirty = false;
        }
        candidate_names_.resize(n);
        for (std::size_t k = 0; k < n; ++k)
          candidate_names_[k] = loader.decision_name(options[k].decision);
        return group.snapshot->pick(Candidates(candidate_names_), rng_).index;
      }
    }
    return 0;
  }

  LaneSpec spec_;
  std::size_t grouping_index_;
  double delay_s_;
  double snapshot_interval_s_;
  std::uint64_t seed_;
  Rng rng_;
  LaneKind kind_ = LaneKind::kCore;
  PolicyConfig policy_config_;
  std::function<PolicyConfig(std::string_view)> policy_for_;  // "labels" lanes
  std::optional<CfaController> cfa_;
  std::vector<CoreGroup> groups_;
  std::deque<Pending> pending_;
  std::vector<std::uint32_t> counts_;
  std::vector<float> costs_;
  std::vector<std::string_view> candidate_names_;
  std::vector<std::uint32_t> candidate_ids_;
  double seconds_ = 0;
  std::uint64_t retired_changes_ = 0;  // of groups a regroup replaced
  bool sampler_ = false;
  std::vector<std::tuple<std::size_t, std::uint32_t, double>> samples_;
};

}  // namespace

void SimulatorOptions::validate() const {
  if (lanes.empty()) throw InvalidInput("no policy given");
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    auto spec = parse_lane(lanes[i], grouping);
    if (GroupingSpec::parse(spec.grouping).learned) learned.validate();
    for (std::size_t j = 0; j < i; ++j)
      if (lanes[j] == lanes[i]) throw InvalidInput("policy '" + lanes[i] + "' given twice");
  }
  if (!(report_delay_s >= 0) || !std::isfinite(report_delay_s))
    throw InvalidInput("report delay must be a finite number >= 0");
  if (!(snapshot_interval_s >= 0) || !std::isfinite(snapshot_interval_s))
    throw InvalidInput("snapshot interval must be a finite number >= 0");
  if (!(interval_s > 0) || !std::isfinite(interval_s))
    throw InvalidInput("interval must be a positive number");
  if (!(regroup_window_s > 0) || !std::isfinite(regroup_window_s))
    throw InvalidInput("regroup window must be a positive number");
}

std::uint64_t lane_seed(std::uint64_t seed, std::size_t lane) {
  return mix_seed(seed, lane);
}

std::uint64_t group_policy_seed(std::uint64_t lane_seed, std::uint32_t group) {
  return mix_seed(lane_seed, std::uint64_t{group} + 2);
}

double quantile(std::vector<float>& values, double p) {
  if (values.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                   values.end());
  return values[rank];
}

SimulationResult simulate(TraceSource& source, const SimulatorOptions& options) {
  options.validate();
  std::vector<LaneSpec> specs;
  std::vector<GroupingSpec> groupings;
  std::vector<std::size_t> grouping_of_lane;
  for (const auto& text : options.lanes) {
    specs.push_back(parse_lane(text, options.grouping));
    auto grouping = GroupingSpec::parse(specs.back().grouping);
    std::size_t index = 0;
    while (index < groupings.size() && !groupings[index].same_as(grouping)) ++index;
    if (index == groupings.size()) groupings.push_back(grouping);
    grouping_of_lane.push_back(index);
  }
  for (const auto& grouping : groupings) {
    for (const auto& feature : grouping.learned ? options.learned.start_by : grouping.features)
      if (!options.schema.index_of(feature))
        throw InvalidInput("grouping: unknown feature '" + feature + "'");
    if (grouping.rules && !options.rules)
      throw InvalidInput("grouping 'rules' needs a label config with rules (--labels)");
  }

  std::vector<std::unique_ptr<Lane>> lanes;
  for (std::size_t i = 0; i < specs.size(); ++i)
    lanes.push_back(
        std::make_unique<Lane>(specs[i], grouping_of_lane[i], options, lane_seed(options.seed, i)));
  // Lane samples come from the first lane on the learned grouping that makes
  // decisions; with none (only the oracle uses it), from uniform exploration.
  auto learned_config = options.learned;
  Lane* sampler = nullptr;
  for (auto& lane : lanes)
    if (!sampler && groupings[lane->grouping_index()].learned && !lane->is_oracle())
      sampler = lane.get();
  if (learned_config.samples == LearnedSamples::kLane) {
    if (sampler)
      sampler->set_sampler();
    else
      learned_config.samples = LearnedSamples::kExplore;
  }
  TraceLoader loader(source, options.schema, groupings, learned_config, options.seed,
                     options.rules);
  std::vector<double> session_times;  // from the trace's first minute, for regroup_costs

  // Interval boundaries (session index, start time) shared by every lane.
  std::vector<std::pair<std::size_t, double>> interval_starts;
  std::size_t session_index = 0;
  double load_seconds = 0;
  MinuteBatch batch;
  for (;;) {
    const double load_start = thread_cpu_seconds();
    const bool more = loader.next_batch(batch);
    load_seconds += thread_cpu_seconds() - load_start;
    if (!more) break;
    const double first_s = static_cast<double>(loader.first_time_ms()) / 1000.0;
    const double first_minute_s = std::floor(static_cast<double>(loader.first_time_ms()) / 1000.0);
    for (const auto& session : batch.sessions) {
      session_times.push_back(session.time_s - first_minute_s);
      const double start =
          std::floor((session.time_s - first_s) / options.interval_s) * options.interval_s;
      if (interval_starts.empty() || interval_starts.back().second != start)
        interval_starts.emplace_back(session_index, start);
      ++session_index;
    }
    for (auto& lane : lanes) lane->process(batch, loader, options);
    if (loader.samples_from_lane() && sampler)
      for (const auto& [session, decision, score] : sampler->samples())
        loader.add_lane_sample(batch, session, decision, score);
  }

  SimulationResult result;
  result.sessions = session_index;
  result.decisions = loader.decision_count();
  result.load_seconds = load_seconds;
  result.first_time_s =
      static_cast<double>(std::max<std::int64_t>(loader.first_time_ms(), 0)) / 1000.0;
  result.regroups = loader.regroups();
  std::vector<float> scratch;
  for (std::size_t l = 0; l < lanes.size(); ++l) {
    // A learned lane's groups: those of the last learned grouping holding
    // samples (its keys over the whole run include every regrouping's).
    std::size_t groups = loader.group_keys(grouping_of_lane[l]).size();
    if (groupings[grouping_of_lane[l]].learned && !result.regroups.empty())
      groups = result.regroups.back().groups;
    auto lane = lanes[l]->finish(groups);
    double sum = 0;
    for (float cost : lane.session_costs) sum += cost;
    lane.mean_cost = lane.sessions ? sum / static_cast<double>(lane.sessions) : 0;
    scratch = lane.session_costs;
    lane.p90_cost = quantile(scratch, 0.9);
    if (groupings[grouping_of_lane[l]].learned) {
      auto mean_between = [&](double from, double to, std::size_t& count) {
        const auto begin = static_cast<std::size_t>(
            std::lower_bound(session_times.begin(), session_times.end(), from) -
            session_times.begin());
        const auto end = static_cast<std::size_t>(
            std::lower_bound(session_times.begin(), session_times.end(), to) -
            session_times.begin());
        double sum = 0;
        for (std::size_t k = begin; k < end; ++k) sum += lane.session_costs[k];
        count = end - begin;
        return count ? sum / static_cast<double>(count) : 0.0;
      };
      for (const auto& regroup : result.regroups) {
        if (!regroup.changed) continue;
        RegroupCost cost;
        cost.time_s = regroup.time_s;
        cost.mean_before = mean_between(regroup.time_s - options.regroup_window_s, regroup.time_s,
                                        cost.sessions_before);
        cost.mean_after = mean_between(regroup.time_s, regroup.time_s + options.regroup_window_s,
                                       cost.sessions_after);
        lane.regroup_costs.push_back(cost);
      }
    }
    for (std::size_t k = 0; k < interval_starts.size(); ++k) {
      const auto begin = interval_starts[k].first;
      const auto end =
          k + 1 < interval_starts.size() ? interval_starts[k + 1].first : lane.sessions;
      IntervalStats stats;
      stats.start_s = interval_starts[k].second;
      stats.sessions = end - begin;
      scratch.assign(lane.session_costs.begin() + static_cast<std::ptrdiff_t>(begin),
                     lane.session_costs.begin() + static_cast<std::ptrdiff_t>(end));
      double interval_sum = 0;
      for (float cost : scratch) interval_sum += cost;
      stats.mean_cost = stats.sessions ? interval_sum / static_cast<double>(stats.sessions) : 0;
      stats.p90_cost = quantile(scratch, 0.9);
      lane.intervals.push_back(stats);
    }
    result.lanes.push_back(std::move(lane));
  }
  return result;
}

}  // namespace pytheas::sim
