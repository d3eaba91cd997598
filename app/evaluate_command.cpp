// `pytheas evaluate`: off-policy estimates of target policies' mean score
// from a node's decision log (evaluation/, docs/EVALUATION.md), printed and,
// with --out, written as summary.csv, summary.txt, summary.json and a plot.

#include <cstdio>
#include <exception>
#include <filesystem>

#include "app/plot_script.hpp"
#include "app/progress_bar.hpp"
#include "app/run_manifest.hpp"
#include "app/sim_commands.hpp"
#include "config/label_config.hpp"
#include "core/errors.hpp"
#include "evaluation/evaluation_report.hpp"
#include "evaluation/evaluator.hpp"
#include "evaluation/log_reader.hpp"
#include "evaluation/sample_set.hpp"
#include "evaluation/target_policy.hpp"
#include "simulation/output_file.hpp"

namespace pytheas::app {
namespace {

using namespace pytheas::evaluation;

std::string log_summary(const LogData& log, const SampleSet& set) {
  const auto& s = log.stats;
  char line[512];
  std::snprintf(line, sizeof line,
                "log: %zu file(s), %zu decisions, %zu reported (%zu by event id, %zu joined by "
                "features), %zu groups; ignored: %zu unmatched, %zu orphan, %zu duplicate "
                "report(s), %zu torn line(s)\n",
                s.files, s.decisions, set.samples.size(), s.joined_by_event_id, s.joined_inferred,
                set.groups.size(), s.unmatched_reports, s.orphan_reports, s.duplicate_reports,
                s.torn_lines);
  return line;
}

JsonFields log_fields(const LogData& log, const SampleSet& set) {
  const auto& s = log.stats;
  JsonFields fields;
  fields.integer("files", s.files)
      .integer("decisions", s.decisions)
      .integer("reports", s.reports)
      .integer("samples", set.samples.size())
      .integer("joined_by_event_id", s.joined_by_event_id)
      .integer("joined_inferred", s.joined_inferred)
      .integer("unmatched_reports", s.unmatched_reports)
      .integer("orphan_reports", s.orphan_reports)
      .integer("duplicate_reports", s.duplicate_reports)
      .integer("torn_lines", s.torn_lines)
      .integer("groups", set.groups.size())
      .texts("decisions_seen", set.decisions);
  return fields;
}

}  // namespace

int run_evaluate(const EvaluateCommand& command) {
  PolicyConfig defaults;
  defaults.half_life_s = command.half_life_s;
  defaults.exploration = command.exploration;
  defaults.epsilon = command.epsilon;
  defaults.window_s = command.window_s;
  std::vector<TargetPolicy> targets;
  try {
    targets = parse_target_policies(command.policies, defaults);
  } catch (const InvalidInput& e) {
    std::fprintf(stderr, "pytheas: error: --policy: %s\n", e.what());
    return 2;
  }

  LogData log;
  SampleSet set;
  try {
    {
      ProgressBar bar("reading log", "bytes", !command.quiet);
      log = read_decision_log(command.log, [&](std::uint64_t done, std::uint64_t total) {
        bar.update(total ? double(done) / double(total) : 1.0, double(done));
      });
    }
    // "learned": the node's default (learning from [Asn]); IPS, SNIPS and DR
    // group by the starting grouping.
    set = make_samples(log, command.grouping == "learned" ? "Asn" : command.grouping,
                       command.time_scale);
  } catch (const InvalidInput& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 1;
  }

  EvaluatorOptions options;
  options.bootstrap.resamples = command.bootstrap;
  options.bootstrap.seed = command.seed;
  options.snapshot_interval_s = command.snapshot_interval_s;
  options.compress_time = command.replay_time == "compressed";
  options.replay_runs = command.replay_runs;
  if (command.grouping == "learned") {
    const LabelConfig labels;  // what `pytheas simulate` and a node run without --labels
    LearnedReplayGrouping learned;
    learned.start_by = labels.group_by;
    learned.regrouper = labels.learning.regrouper;
    learned.interval_s = labels.learning.regroup_interval_s;
    learned.warmup_s = learned.interval_s;  // a node learns first one interval after it starts
    options.learned = learned;
  }
  std::vector<TargetResult> results;
  {
    ProgressBar bar("evaluating", "policies", !command.quiet);
    options.progress = [&](std::size_t done, std::size_t total) {
      bar.update(double(done) / double(total), double(done));
    };
    bar.update(0, 0);
    results = evaluate_targets(set, targets, options);
  }

  if (!command.quiet) {
    std::printf("%s", log_summary(log, set).c_str());
    std::printf("%s", format_evaluation_table(results).c_str());
  }
  std::fflush(stdout);
  int exit_code = 0;
  for (const auto& result : results)
    if (!result.warning.empty() && command.quiet)
      std::fprintf(stderr, "pytheas: warning: %s\n", result.warning.c_str());
  for (const auto& result : results) {
    if (result.error.empty()) continue;
    std::fprintf(stderr, "pytheas: error: %s\n", result.error.c_str());
    exit_code = 1;
  }
  if (command.out.empty()) return exit_code;

  try {
    std::error_code error;
    std::filesystem::create_directories(command.out, error);
    if (error) throw std::runtime_error("cannot create '" + command.out + "': " + error.message());
    const std::filesystem::path out(command.out);
    sim::write_output_file(out / "summary.csv", format_evaluation_csv(results, set.samples.size()));
    sim::write_output_file(out / "summary.txt", format_evaluation_table(results));
    RunManifest manifest;
    manifest.command = "evaluate";
    manifest.arguments = command.arguments;
    manifest.seed = command.seed;
    manifest.settings.text("log", command.log)
        .text("policies", command.policies)
        .text("grouping", command.grouping)
        .number("time_scale", command.time_scale)
        .integer("bootstrap", command.bootstrap)
        .number("confidence", options.bootstrap.confidence)
        .number("half_life_s", command.half_life_s)
        .number("exploration", command.exploration)
        .number("epsilon", command.epsilon)
        .number("window_s", command.window_s)
        .number("snapshot_interval_s", command.snapshot_interval_s)
        .text("replay_time", command.replay_time)
        .integer("replay_runs", command.replay_runs);
    manifest.results.object("log", log_fields(log, set));
    write_run_manifest(command.out, manifest);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 1;
  }
  if (!command.quiet) std::printf("results in %s\n", command.out.c_str());
  std::fflush(stdout);
  if (command.plot)
    draw_plots("plot-evaluation", "PYTHEAS_EVALUATION_PLOT_SCRIPT", command.out, command.quiet);
  return exit_code;
}

}  // namespace pytheas::app
