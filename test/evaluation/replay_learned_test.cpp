// The replay estimate of a target that learns its grouping, against the
// simulator's truth for the same policy on the same trace: a trace generated
// here (7 ASNs x 3 cities whose best CDN depends on both, a swap halfway)
// that no part of the estimator was tuned on, logged uniformly at random.
// `pytheas simulate` runs D-UCB on the learned grouping by default; the
// replay with a fixed [Asn] grouping (what `evaluate --grouping Asn` did)
// estimates another policy, and its interval misses that truth.

#include <catch2/catch.hpp>

#include <cmath>
#include <unordered_map>

#include "config/label_config.hpp"
#include "core/rng.hpp"
#include "evaluation/replay_estimator.hpp"
#include "simulation/generator.hpp"
#include "simulation/simulator.hpp"
#include "test/simulation/vector_source.hpp"

using namespace pytheas::evaluation;
using pytheas::LabelConfig;
using pytheas::PolicyConfig;
using pytheas::TraceSession;

namespace {

std::vector<TraceSession> generated_trace() {
  pytheas::sim::GeneratorConfig config;
  config.seed = 919;
  config.sessions = 14000;
  config.duration_s = 700;
  config.asns = 7;
  config.asn_zipf = 0.7;
  config.cities_per_asn = 3;
  config.decisions = {{"cdn-a", 100}, {"cdn-b", 105}, {"cdn-c", 110}, {"cdn-d", 115}};
  config.group_spread = 8;
  config.city_spread = 14;
  config.noise = 10;
  config.default_load = {{1, 1}};  // no herding: a log cannot show it
  pytheas::sim::GeneratorSwitch swap;
  swap.at_s = 350;
  swap.decision = "cdn-a";
  swap.asn_share = 0.5;
  swap.add_cost = 20;
  config.switches = {swap};
  std::vector<TraceSession> sessions;
  pytheas::sim::generate_trace(config, [&](const TraceSession& s) { sessions.push_back(s); });
  return sessions;
}

// What a node logging with `random` would log: one uniformly random pick per
// session (propensity 1/K), its cost's negation as the score, reported 2 s
// later; groups by Asn (for the fixed-grouping replay).
SampleSet uniform_log(const std::vector<TraceSession>& sessions, std::uint64_t seed) {
  SampleSet set;
  set.feature_names = pytheas::FeatureSchema::original().names();
  const auto asn = static_cast<std::size_t>(
      std::find(set.feature_names.begin(), set.feature_names.end(), "Asn") -
      set.feature_names.begin());
  std::unordered_map<std::string, std::uint32_t> decision_of, group_of, value_of;
  auto intern = [](std::unordered_map<std::string, std::uint32_t>& ids,
                   std::vector<std::string>& names, const std::string& name) {
    auto [it, added] = ids.emplace(name, static_cast<std::uint32_t>(names.size()));
    if (added) names.push_back(name);
    return it->second;
  };
  pytheas::Rng rng(seed);
  const double start = static_cast<double>(sessions.front().time_ms) / 1000;
  for (const auto& session : sessions) {
    Sample sample;
    sample.time = static_cast<double>(session.time_ms) / 1000 - start;
    sample.report_time = sample.time + 2;
    sample.group = intern(group_of, set.groups, "Asn=" + session.features[asn]);
    sample.candidates = static_cast<std::uint32_t>(set.candidate_ids.size());
    sample.candidate_count = static_cast<std::uint32_t>(session.decisions.size());
    for (const auto& option : session.decisions)
      set.candidate_ids.push_back(intern(decision_of, set.decisions, option.decision));
    sample.chosen = static_cast<std::uint32_t>(rng.below(session.decisions.size()));
    sample.propensity = 1.0 / static_cast<double>(session.decisions.size());
    sample.reward = -session.decisions[sample.chosen].cost.value;
    sample.features = static_cast<std::uint32_t>(set.feature_ids.size());
    for (const auto& value : session.features)
      set.feature_ids.push_back(intern(value_of, set.feature_values, value));
    set.samples.push_back(sample);
  }
  return set;
}

// `pytheas simulate --policy LANE` with the default label config (learned
// grouping from [Asn], its regroup knobs, D-UCB's defaults): mean score over
// `seeds` seeds.
double simulated_score(const std::vector<TraceSession>& sessions, const std::string& lane,
                       int seeds) {
  const LabelConfig labels;
  double sum = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    pytheas::sim::SimulatorOptions options;
    options.lanes = {lane};
    options.grouping = "learned";
    options.report_delay_s = 2;
    options.seed = static_cast<std::uint64_t>(seed);
    options.policy = labels.default_policy;
    options.learned.start_by = labels.group_by;
    options.learned.regrouper = labels.learning.regrouper;
    options.learned.regroup_interval_s = labels.learning.regroup_interval_s;
    options.learned.warmup_s = labels.learning.regroup_interval_s;
    pytheas::sim::test::VectorSource source(sessions);
    sum -= pytheas::sim::simulate(source, options).lanes.front().mean_cost;
  }
  return sum / seeds;
}

}  // namespace

TEST_CASE("replay with a learned grouping covers simulate's default D-UCB on an untuned trace",
          "[evaluation][replay][learned][statistical]") {
  const auto sessions = generated_trace();
  const auto set = uniform_log(sessions, 77);
  const double truth = simulated_score(sessions, "ducb@learned", 3);
  const double truth_asn = simulated_score(sessions, "ducb@Asn", 3);

  PolicyConfig ducb = LabelConfig{}.default_policy;
  ducb.kind = "ducb";
  const LearnedReplayGrouping learned;  // the default label config's
  // As `pytheas evaluate --grouping learned` (5 runs, the sparsity bound)...
  const auto with_learning =
      replay_estimate(set, ducb, BootstrapOptions{}, 0, true, &learned, ReplayRepeat{5, true});
  // ...and as `evaluate --grouping Asn` did before (one run, fixed groups).
  const auto fixed_asn = replay_estimate(set, ducb, BootstrapOptions{}, 0, true, nullptr);
  const auto run = replay_run(set, ducb, 1, 0, true, &learned);
  INFO("truth: ducb@learned " << truth << ", ducb@Asn " << truth_asn);
  INFO("replay, learned grouping: " << with_learning.value << " [" << with_learning.ci_low << ", "
                                    << with_learning.ci_high << "], sparsity bound "
                                    << with_learning.sparsity_bound << ", " << run.regroups
                                    << " regroups, " << run.groups << " groups");
  INFO("replay, grouping Asn: " << fixed_asn.value << " [" << fixed_asn.ci_low << ", "
                                << fixed_asn.ci_high << "]");
  // The learned grouping pays off on this trace: the two truths differ by
  // more than 1%, and the checks below tell them apart.
  CHECK(truth - truth_asn > 0.01 * std::abs(truth));
  CHECK(run.regroups >= 1);
  // The estimate for the policy simulate runs by default covers its truth...
  CHECK(with_learning.ci_low <= truth);
  CHECK(truth <= with_learning.ci_high);
  // ...and is narrow enough to tell it from the fixed-grouping policy's.
  CHECK(truth_asn < with_learning.ci_low);
  // ...which the fixed-grouping replay (the old behaviour) misses, though it
  // covers the truth of its own target, ducb@Asn.
  CHECK(fixed_asn.ci_high < truth);
  CHECK(fixed_asn.ci_low <= truth_asn);
  CHECK(truth_asn <= fixed_asn.ci_high);
}
