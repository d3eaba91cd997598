// `pytheas simulate`: runs a trace through the policies, writes CSVs, the
// summary and summary.json to --out, then draws the plots (the compiled-in
// scripts/plot-simulation; gnuplot).

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "app/plot_script.hpp"
#include "app/progress_bar.hpp"
#include "app/run_manifest.hpp"
#include "app/sim_commands.hpp"
#include "config/label_config.hpp"
#include "core/errors.hpp"
#include "core/trace_source.hpp"
#include "simulation/report.hpp"
#include "simulation/simulator.hpp"

namespace pytheas::app {
namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto end = text.find(',', start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

// Counts the sessions the simulator reads and moves the progress bar.
class ProgressSource final : public TraceSource {
 public:
  ProgressSource(TraceSource& inner, ProgressBar& bar) : inner_(inner), bar_(bar) {}
  bool next(TraceSession& out) override {
    const bool more = inner_.next(out);
    if (more && (++sessions_ & 0x3FFF) == 0) bar_.update(inner_.fraction_read(), double(sessions_));
    return more;
  }
  std::size_t feature_count() const override { return inner_.feature_count(); }
  double fraction_read() const override { return inner_.fraction_read(); }
  std::size_t sessions() const { return sessions_; }

 private:
  TraceSource& inner_;
  ProgressBar& bar_;
  std::size_t sessions_ = 0;
};

/// The grouping a node with `labels` runs: learned (starting from its
/// `by:`), its rule tree, or its fixed feature list.
std::string grouping_of(const LabelConfig& labels) {
  if (labels.learning.enabled) return "learned";
  if (labels.rules) return "rules";
  std::string out;
  for (const auto& feature : labels.group_by) out += (out.empty() ? "" : ",") + feature;
  return out.empty() ? "global" : out;
}

/// The simulator's options: the label config's (what a node with it runs),
/// then whatever the command line sets explicitly.
sim::SimulatorOptions options_of(const SimulateCommand& command, const LabelConfig& labels) {
  sim::SimulatorOptions options;
  options.lanes = split_commas(command.policies);
  options.grouping = command.grouping.empty() ? grouping_of(labels) : command.grouping;
  options.report_delay_s = command.delay_s;
  options.snapshot_interval_s = command.snapshot_interval_s;
  options.interval_s = command.interval_s;
  options.seed = command.seed;
  options.schema = labels.schema;
  options.rules = labels.rules;
  options.policy = labels.default_policy;
  if (command.half_life_s) options.policy.half_life_s = *command.half_life_s;
  if (command.exploration) options.policy.exploration = *command.exploration;
  if (command.epsilon) options.policy.epsilon = *command.epsilon;
  if (command.window_s) options.policy.window_s = *command.window_s;
  // A knob given on the command line holds for every group, as --half-life
  // always did; the per-group overrides apply otherwise.
  const bool overridden =
      command.half_life_s || command.exploration || command.epsilon || command.window_s;
  if (!labels.group_policies.empty() && !overridden) {
    auto shared = std::make_shared<const LabelConfig>(labels);
    options.policy_for = [shared](std::string_view key) { return shared->policy_for(key); };
  }
  options.cfa.refresh_s = command.cfa_refresh_s;
  options.cfa.window_s = command.cfa_window_s;
  options.cfa.explore = command.cfa_explore;
  const auto& learning = labels.learning;
  options.learned.start_by = labels.group_by;
  options.learned.regrouper = learning.regrouper;
  options.learned.regroup_interval_s =
      command.regroup_interval_s.value_or(learning.regroup_interval_s);
  // A node learns first one interval after it starts.
  options.learned.warmup_s = command.regroup_warmup_s.value_or(options.learned.regroup_interval_s);
  options.learned.sample_rate = command.learn_sample_rate.value_or(learning.sample_rate);
  if (command.learn_window) options.learned.regrouper.window = *command.learn_window;
  if (command.learn_min_samples) options.learned.regrouper.min_samples = *command.learn_min_samples;
  if (command.min_group_size)
    options.learned.regrouper.learner.min_group_size = *command.min_group_size;
  options.learned.samples =
      command.learn_from == "explore" ? sim::LearnedSamples::kExplore : sim::LearnedSamples::kLane;
  return options;
}

RunManifest simulate_manifest(const SimulateCommand& command,
                              const sim::SimulatorOptions& options) {
  RunManifest manifest;
  manifest.command = "simulate";
  manifest.arguments = command.arguments;
  manifest.seed = command.seed;
  manifest.settings.text("trace", command.trace)
      .text("labels", command.labels.empty() ? "<defaults>" : command.labels)
      .text("policies", command.policies)
      .text("grouping", options.grouping)
      .number("delay_s", options.report_delay_s)
      .number("interval_s", options.interval_s)
      .number("snapshot_interval_s", options.snapshot_interval_s)
      .number("half_life_s", options.policy.half_life_s)
      .number("exploration", options.policy.exploration)
      .number("epsilon", options.policy.epsilon)
      .number("window_s", options.policy.window_s)
      .number("cfa_refresh_s", options.cfa.refresh_s)
      .number("cfa_window_s", options.cfa.window_s)
      .number("cfa_explore", options.cfa.explore)
      .number("regroup_warmup_s", options.learned.warmup_s)
      .number("regroup_interval_s", options.learned.regroup_interval_s)
      .integer("learn_window", options.learned.regrouper.window)
      .number("learn_sample_rate", options.learned.sample_rate)
      .integer("learn_min_samples", options.learned.regrouper.min_samples)
      .integer("min_group_size", options.learned.regrouper.learner.min_group_size);
  return manifest;
}

}  // namespace

int run_simulate(const SimulateCommand& command) {
  sim::SimulatorOptions options;
  try {
    const LabelConfig labels =
        command.labels.empty() ? LabelConfig{} : load_label_config(command.labels);
    if (!(labels.schema == FeatureSchema::original()))
      throw InvalidInput(labels.source +
                         ": the simulator's traces carry the original features; a label config "
                         "with its own `features:` cannot be simulated");
    options = options_of(command, labels);
    options.validate();
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 2;
  } catch (const InvalidInput& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 2;
  }

  sim::SimulationResult result;
  try {
    auto source = open_trace_file(command.trace, options.schema.size());
    {
      ProgressBar bar("simulate", "sessions", !command.quiet);
      ProgressSource counted(*source, bar);
      result = sim::simulate(counted, options);
      bar.update(1, double(counted.sessions()));
    }
    sim::write_simulation_outputs(command.out, result);
    auto manifest = simulate_manifest(command, options);
    for (const auto& lane : result.lanes)
      manifest.results.object(lane.name, JsonFields()
                                             .integer("sessions", lane.sessions)
                                             .integer("groups", lane.groups)
                                             .number("mean_cost", lane.mean_cost)
                                             .number("p90_cost", lane.p90_cost));
    write_run_manifest(command.out, manifest);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pytheas: error: %s: %s\n", command.trace.c_str(), e.what());
    return 1;
  }

  if (!command.quiet) {
    std::printf("%zu sessions, %zu decisions; trace read in %.2f s (%.0f sessions/s)\n",
                result.sessions, result.decisions, result.load_seconds,
                result.load_seconds > 0 ? double(result.sessions) / result.load_seconds : 0.0);
    std::printf("%s", sim::format_summary(result).c_str());
    if (!result.regroups.empty()) {
      const auto& last = result.regroups.back();
      double learn_seconds = 0;
      for (const auto& regroup : result.regroups) learn_seconds += regroup.seconds;
      std::string features;
      for (const auto& name : last.split_features) features += (features.empty() ? "" : ",") + name;
      std::size_t changed = 0;
      for (const auto& regroup : result.regroups) changed += regroup.changed;
      std::printf(
          "learned grouping: %zu regroupings, %zu changed the rules (%.2f s CPU); last at %.0f s: "
          "%zu groups from %zu samples, split on [%s] (rules in learned_rules.txt)\n",
          result.regroups.size(), changed, learn_seconds, last.time_s, last.groups, last.samples,
          features.c_str());
    }
    std::printf("results in %s\n", command.out.c_str());
  }
  std::fflush(stdout);  // the table before the plot script's own messages
  if (command.plot)
    draw_plots("plot-simulation", "PYTHEAS_PLOT_SCRIPT", command.out, command.quiet);
  return 0;
}

}  // namespace pytheas::app
