// The simulator: runs the core policies themselves, applies the original
// player's cost rules, is deterministic, and D-UCB tracks a sudden switch.

#include "simulation/simulator.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <map>

#include "core/errors.hpp"
#include "core/grouping.hpp"
#include "core/policy.hpp"
#include "simulation/generator.hpp"
#include "test/simulation/vector_source.hpp"

using namespace pytheas;
using namespace pytheas::sim;
using test::VectorSource;

namespace {

std::vector<TraceSession> generate(const GeneratorConfig& config) {
  std::vector<TraceSession> out;
  generate_trace(config, [&](const TraceSession& s) { out.push_back(s); });
  return out;
}

SimulationResult run(const std::vector<TraceSession>& trace, SimulatorOptions options) {
  VectorSource source(trace);
  return simulate(source, options);
}

const LaneResult& lane(const SimulationResult& result, const std::string& name) {
  for (const auto& l : result.lanes)
    if (l.name == name) return l;
  FAIL("no lane " << name);
  throw 0;
}

// Mean cost of a lane over the intervals starting in [from_s, to_s).
double window_mean(const LaneResult& l, double from_s, double to_s) {
  double sum = 0;
  std::size_t n = 0;
  for (const auto& i : l.intervals)
    if (i.start_s >= from_s && i.start_s < to_s) {
      sum += i.mean_cost * static_cast<double>(i.sessions);
      n += i.sessions;
    }
  REQUIRE(n > 0);
  return sum / static_cast<double>(n);
}

TraceSession session(std::int64_t time_ms, std::string asn,
                     std::vector<std::pair<std::string, double>> costs,
                     std::vector<DecisionLoad> loads = {}) {
  TraceSession s;
  s.time_ms = time_ms;
  s.features.assign(15, "");
  s.features[0] = std::to_string(time_ms);
  s.features[4] = std::move(asn);
  for (auto& [name, cost] : costs) s.decisions.push_back({name, TraceNumber::of(cost)});
  s.loads = std::move(loads);
  return s;
}

}  // namespace

TEST_CASE("on a sudden switch D-UCB beats random and UCB and tracks the oracle",
          "[simulator][switch]") {
  GeneratorConfig config;
  config.seed = 11;
  config.sessions = 60000;
  config.duration_s = 2400;
  config.asns = 6;
  config.asn_zipf = 0.5;
  config.decisions = {{"cdn-a", 100}, {"cdn-b", 115}, {"cdn-c", 130}};
  config.group_spread = 3;
  config.noise = 10;
  config.switches = {{1500, "cdn-a", {}, 0.67, 40, 1}};
  config.default_load = {{0.9, 1.2}};
  const auto trace = generate(config);

  SimulatorOptions options;
  options.lanes = {"ducb", "ucb", "random", "cfa", "oracle"};
  options.interval_s = 30;
  options.policy.exploration = 0.3;
  // This compares forgetting by discount with no forgetting at all: change
  // detection (on by default) makes plain UCB follow a switch too, and has
  // tests of its own (test/core/change_detector_test.cpp, switching_bandit_test.cpp).
  options.policy.change_threshold = 0;
  const auto result = run(trace, options);
  const auto& ducb = lane(result, "ducb");
  const auto& ucb = lane(result, "ucb");
  const auto& random = lane(result, "random");
  const auto& oracle = lane(result, "oracle");
  REQUIRE(ducb.sessions == 60000);

  // Over the whole trace.
  CHECK(ducb.mean_cost < 0.92 * random.mean_cost);
  CHECK(ducb.mean_cost < ucb.mean_cost - 2);
  CHECK(ducb.p90_cost < ucb.p90_cost - 8);

  // In the ten minutes after the switch, by a wide margin.
  const double t = 1500;
  const double d = window_mean(ducb, t, t + 600);
  CHECK(d < window_mean(ucb, t, t + 600) - 8);
  CHECK(d < window_mean(random, t, t + 600) - 8);

  // Tracking: from 90 s after the switch on, every 30 s interval is within 5%
  // of the oracle (which knows every session's costs).
  for (std::size_t i = 0; i < ducb.intervals.size(); ++i) {
    if (ducb.intervals[i].start_s < t + 90) continue;
    INFO("interval at " << ducb.intervals[i].start_s);
    CHECK(ducb.intervals[i].mean_cost < 1.05 * oracle.intervals[i].mean_cost);
  }
  // ... while plain UCB is still far off two minutes after the switch.
  CHECK(window_mean(ucb, t + 120, t + 240) > 1.10 * window_mean(oracle, t + 120, t + 240));
}

TEST_CASE("the simulator runs the core policies themselves", "[simulator][core]") {
  // Replays the simulator's documented loop by hand with core's make_policy,
  // seeds and snapshots: the per-session costs must match exactly.
  GeneratorConfig config;
  config.seed = 2;
  config.sessions = 4000;
  config.duration_s = 300;
  config.asns = 3;
  config.default_load = {};  // no LoadMap steps: cost = DecisionMap cost
  const auto trace = generate(config);
  SimulatorOptions options;
  options.lanes = {"ducb"};
  options.seed = 99;
  const auto result = run(trace, options);

  const auto schema = FeatureSchema::original();
  auto grouping = make_feature_grouping(schema, {"Asn"});
  const auto seed = lane_seed(99, 0);
  Rng rng(seed);
  struct Group {
    std::unique_ptr<Policy> policy;
    SnapshotPtr snapshot;
    bool dirty = false;
  };
  std::map<std::string, std::uint32_t> ids;
  std::vector<Group> groups;
  struct Report {
    double due;
    std::uint32_t group;
    std::string decision;
    double score;
  };
  std::deque<Report> pending;
  std::vector<float> costs;
  for (const auto& s : trace) {
    const double now = double(s.time_ms) / 1000;
    while (!pending.empty() && pending.front().due <= now) {
      auto& r = pending.front();
      groups[r.group].policy->update(Outcome{r.decision, r.score, r.due, {}});
      groups[r.group].dirty = true;
      pending.pop_front();
    }
    std::vector<std::string_view> features(s.features.begin(), s.features.end());
    const auto key = grouping->key(features);
    auto [it, fresh] = ids.emplace(key, static_cast<std::uint32_t>(ids.size()));
    if (fresh)
      groups.push_back(
          {make_policy(PolicyConfig{}, group_policy_seed(seed, it->second)), nullptr, false});
    auto& g = groups[it->second];
    if (!g.snapshot || g.dirty) {
      g.snapshot = g.policy->snapshot(now);
      g.dirty = false;
    }
    std::vector<std::string_view> candidates;
    for (const auto& d : s.decisions) candidates.push_back(d.decision);
    const auto pick = g.snapshot->pick(candidates, rng);
    const double cost = s.decisions[pick.index].cost.value;
    costs.push_back(static_cast<float>(cost));
    pending.push_back({now + 2, it->second, s.decisions[pick.index].decision, -cost});
  }
  REQUIRE(result.lanes[0].session_costs.size() == costs.size());
  CHECK(result.lanes[0].session_costs == costs);
}

TEST_CASE("cost uses the LoadMap share of the minute's sessions, as the original player",
          "[simulator][load]") {
  // Four sessions in one minute; cdn-a costs double above a 50% share.
  std::vector<DecisionLoad> loads = {{"cdn-a", {{TraceNumber::of(0.5), TraceNumber::of(2)}}}};
  std::vector<TraceSession> trace;
  for (int i = 0; i < 4; ++i)
    trace.push_back(session(1000 * i, "AS1", {{"cdn-a", 10}, {"cdn-b", 12}}, loads));
  // The next minute starts afresh.
  trace.push_back(session(61000, "AS1", {{"cdn-a", 10}, {"cdn-b", 12}}, loads));
  SimulatorOptions options;
  options.lanes = {"oracle"};
  const auto result = run(trace, options);
  // Oracle: a (share 1/4), a (2/4: not above 0.5), then b twice (a would be 3/4
  // and cost 20), and a again in the next minute (share 1/1 is above 0.5, but
  // b... would cost 12 < 20, so b).
  const std::vector<float> expected = {10, 10, 12, 12, 12};
  CHECK(result.lanes[0].session_costs == expected);
}

TEST_CASE("simulations are deterministic under a seed", "[simulator]") {
  GeneratorConfig config;
  config.sessions = 5000;
  config.duration_s = 600;
  const auto trace = generate(config);
  SimulatorOptions options;
  options.lanes = {"ducb", "thompson", "egreedy", "cfa", "random@global"};
  const auto a = run(trace, options);
  const auto b = run(trace, options);
  for (std::size_t i = 0; i < a.lanes.size(); ++i) {
    INFO(a.lanes[i].name);
    CHECK(a.lanes[i].session_costs == b.lanes[i].session_costs);
  }
  CHECK(lane(a, "random@global").groups == 1);
  CHECK(lane(a, "ducb").groups == 10);
  options.seed = 2;
  const auto c = run(trace, options);
  CHECK(lane(a, "ducb").session_costs != lane(c, "ducb").session_costs);
}

TEST_CASE("bad simulator options are named", "[simulator]") {
  std::vector<TraceSession> trace = {session(0, "AS1", {{"a", 1}})};
  auto error_for = [&](std::vector<std::string> lanes, std::string grouping) {
    SimulatorOptions options;
    options.lanes = std::move(lanes);
    options.grouping = std::move(grouping);
    try {
      run(trace, options);
    } catch (const InvalidInput& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error_for({"bandit"}, "Asn"), Catch::Contains("unknown policy 'bandit'"));
  CHECK(error_for({"ducb"}, "learned") == "no error");
  CHECK(error_for({"ducb@learned", "cfa@learned", "ducb@global"}, "Asn") == "no error");
  CHECK_THAT(error_for({"ducb"}, "Planet"), Catch::Contains("Planet"));
  CHECK_THAT(error_for({"ducb", "ducb"}, "Asn"), Catch::Contains("given twice"));
  CHECK_THAT(error_for({"ducb@Asn,,City"}, "Asn"), Catch::Contains("empty feature name"));
  CHECK(error_for({"ducb@Asn+City", "oracle"}, "global") == "no error");

  SimulatorOptions options;
  options.grouping = "learned";
  options.learned.sample_rate = 0;
  CHECK_THROWS_WITH(run(trace, options), Catch::Contains("sample rate"));
  options.learned.sample_rate = 1;
  options.learned.regrouper.learner.min_group_size = 0;
  CHECK_THROWS_WITH(run(trace, options), Catch::Contains("min_group_size"));
  // Without a lane using it, the learned config is not looked at.
  options.grouping = "Asn";
  CHECK_NOTHROW(run(trace, options));
}

TEST_CASE("the learned grouping finds (Asn, City) groups and beats Asn-only and global",
          "[simulator][learned]") {
  GeneratorConfig config;
  config.seed = 31;
  config.sessions = 40000;
  config.duration_s = 3600;
  config.asns = 4;
  config.cities_per_asn = 3;
  config.group_spread = 15;
  config.city_spread = 25;  // the best CDN depends on the city within the ASN
  config.noise = 5;
  config.offsets = {{"Os", 10}, {"ConnType", 10}, {"ObjectId", 5}};  // noise features
  config.default_load.clear();
  const auto trace = generate(config);

  SimulatorOptions options;
  options.lanes = {"ducb@learned", "ducb@Asn", "ducb@global", "cfa@learned"};
  options.learned.warmup_s = 120;
  options.learned.regroup_interval_s = 600;
  options.learned.regrouper.learner.min_group_size = 200;
  // Samples from uniform exploration find the 12 groups at the second
  // regrouping; samples from the ducb lane's own decisions (as a node's) hold
  // the other CDNs rarely (about 1 sample in 60 in the global group) and need
  // three times longer, so they win less over the trace's hour.
  for (const auto source : {LearnedSamples::kExplore, LearnedSamples::kLane}) {
    const bool explore = source == LearnedSamples::kExplore;
    INFO((explore ? "explore" : "lane"));
    options.learned.samples = source;
    const auto result = run(trace, options);

    REQUIRE(result.regroups.size() == 6);  // at 2, 12, 22, 32, 42, 52 minutes
    CHECK(result.regroups.front().time_s == 120);
    CHECK(result.regroups.back().time_s == 3120);
    const auto& last = result.regroups.back();
    // 12 (Asn, City) combinations; the lane's samples may leave two cities
    // that want the same CDN together.
    CHECK(last.groups <= 12);
    CHECK(last.groups >= (explore ? 12u : 9u));
    // City names are unique per ASN, so City alone tells the 12 groups apart
    // (State happens to as well, and Asn is implied); nothing else matters.
    REQUIRE_FALSE(last.split_features.empty());
    for (const auto& feature : last.split_features) {
      INFO(feature);
      CHECK((feature == "City" || feature == "Asn" || feature == "State"));
    }
    const double learned = lane(result, "ducb@learned").mean_cost;
    const double by_asn = lane(result, "ducb@Asn").mean_cost;
    const double global = lane(result, "ducb@global").mean_cost;
    INFO("learned " << learned << ", Asn " << by_asn << ", global " << global);
    const double margin = explore ? 3 : 1;
    CHECK(learned < by_asn - margin);
    CHECK(learned < global - margin);
    // A regrouping whose rules do not change is no regrouping.
    std::size_t changed = 0;
    for (const auto& regroup : result.regroups) changed += regroup.changed;
    CHECK(changed < result.regroups.size());
    CHECK(lane(result, "cfa@learned").groups == lane(result, "ducb@learned").groups);
    // Costs before and after each change of the rules are recorded.
    CHECK(lane(result, "ducb@learned").regroup_costs.size() == changed);

    // Deterministic under the seed.
    const auto again = run(trace, options);
    CHECK(lane(again, "ducb@learned").session_costs == lane(result, "ducb@learned").session_costs);
  }
}

TEST_CASE("new groups start from their parent's policy state on a split and on a merge",
          "[simulator][learned]") {
  // Three ASNs that want different CDNs (a split of `global` into ASN groups),
  // until cdn-a becomes the best everywhere at 30 minutes (the ASN groups
  // merge back into one).
  GeneratorConfig config;
  config.seed = 41;
  config.sessions = 30000;
  config.duration_s = 3600;
  config.asns = 3;
  config.asn_zipf = 0.5;
  config.cities_per_asn = 1;
  config.group_spread = 30;
  config.noise = 5;
  config.default_load.clear();
  config.switches = {{1800, "cdn-a", {}, 1, -80, 1}};
  const auto trace = generate(config);

  SimulatorOptions options;
  options.lanes = {"ducb@learned", "swucb@learned"};
  options.learned.warmup_s = 300;
  options.learned.regroup_interval_s = 300;
  options.learned.regrouper.window = 2000;  // four minutes of samples
  options.learned.regrouper.learner.min_group_size = 100;
  struct Event {
    std::string lane;
    double time_s;
    std::vector<SimulatorOptions::Inherited> inherited;
  };
  std::vector<Event> events;
  options.on_regroup = [&](std::string_view lane_name, double time_s,
                           const std::vector<SimulatorOptions::Inherited>& inherited) {
    events.push_back({std::string(lane_name), time_s, inherited});
  };
  const auto result = run(trace, options);
  std::string history;
  for (const auto& regroup : result.regroups)
    history += std::to_string(regroup.time_s) + ": " + regroup.rules;
  INFO(history);

  bool saw_split = false, saw_merge = false;
  for (const auto& event : events) {
    INFO(event.lane << " at " << event.time_s);
    for (const auto& inherited : event.inherited) {
      INFO(inherited.child << " <- " << inherited.parent);
      // The child's state is the parent's as a prior (the node's own
      // inherited_policy_state), byte for byte, at the switch.
      CHECK(inherited.child_state == inherited_policy_state(inherited.parent_state, event.time_s));
      CHECK_FALSE(inherited.parent_state.empty());
      CHECK(restore_policy(inherited.child_state, 0)->arm_count() > 0);  // not cold
      if (inherited.parent == "global" && inherited.child.starts_with("Asn=")) saw_split = true;
      if (inherited.child == "global" && inherited.parent.starts_with("Asn=")) saw_merge = true;
    }
  }
  CHECK(saw_split);
  CHECK(saw_merge);
  // Both E2 lanes inherit at the same regroupings.
  std::size_t ducb_events = 0, swucb_events = 0;
  for (const auto& event : events) (event.lane == "ducb@learned" ? ducb_events : swucb_events)++;
  CHECK(ducb_events == swucb_events);
  CHECK(ducb_events >= 2);
  // The merge goes to the largest part: the most popular ASN (index 0).
  for (const auto& event : events)
    for (const auto& inherited : event.inherited)
      if (inherited.child == "global") CHECK(inherited.parent == "Asn=" + generator_asn_name(0));
}
