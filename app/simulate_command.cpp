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

RunManifest simulate_manifest(const SimulateCommand& command) {
  RunManifest manifest;
  manifest.command = "simulate";
  manifest.arguments = command.arguments;
  manifest.seed = command.seed;
  manifest.settings.text("trace", command.trace)
      .text("policies", command.policies)
      .text("grouping", command.grouping)
      .number("delay_s", command.delay_s)
      .number("interval_s", command.interval_s)
      .number("snapshot_interval_s", command.snapshot_interval_s)
      .number("half_life_s", command.half_life_s)
      .number("exploration", command.exploration)
      .number("epsilon", command.epsilon)
      .number("window_s", command.window_s)
      .number("cfa_refresh_s", command.cfa_refresh_s)
      .number("cfa_window_s", command.cfa_window_s)
      .number("cfa_explore", command.cfa_explore)
      .number("regroup_warmup_s", command.regroup_warmup_s)
      .number("regroup_interval_s", command.regroup_interval_s)
      .integer("learn_window", command.learn_window)
      .number("learn_sample_rate", command.learn_sample_rate)
      .integer("min_group_size", command.min_group_size);
  return manifest;
}

}  // namespace

int run_simulate(const SimulateCommand& command) {
  sim::SimulatorOptions options;
  options.lanes = split_commas(command.policies);
  options.grouping = command.grouping;
  options.report_delay_s = command.delay_s;
  options.snapshot_interval_s = command.snapshot_interval_s;
  options.interval_s = command.interval_s;
  options.seed = command.seed;
  options.policy.half_life_s = command.half_life_s;
  options.policy.exploration = command.exploration;
  options.policy.epsilon = command.epsilon;
  options.policy.window_s = command.window_s;
  options.cfa.refresh_s = command.cfa_refresh_s;
  options.cfa.window_s = command.cfa_window_s;
  options.cfa.explore = command.cfa_explore;
  options.learned.warmup_s = command.regroup_warmup_s;
  options.learned.regroup_interval_s = command.regroup_interval_s;
  options.learned.regrouper.window = command.learn_window;
  options.learned.sample_rate = command.learn_sample_rate;
  options.learned.regrouper.learner.min_group_size = command.min_group_size;
  options.learned.samples =
      command.learn_from == "explore" ? sim::LearnedSamples::kExplore : sim::LearnedSamples::kLane;
  try {
    options.validate();
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
    auto manifest = simulate_manifest(command);
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
