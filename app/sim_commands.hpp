#pragma once
// The researcher-facing subcommands: `pytheas simulate`, `pytheas evaluate`,
// `pytheas trace generate`, `pytheas trace convert` and `pytheas trace
// export`. Each returns the process exit code: 0 success, 1 runtime failure
// (one line on stderr), 2 usage error.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pytheas::app {

struct SimulateCommand {
  std::string trace;
  std::string labels;  ///< a label config file; empty: the default label config
  std::string policies = "labels";
  std::string grouping;  ///< empty: the label config's
  std::string out;
  std::uint64_t seed = 1;
  double delay_s = 2;
  double interval_s = 60;
  double snapshot_interval_s = 0;
  // Unset: the label config's (its default policy, its learning settings).
  std::optional<double> half_life_s;
  std::optional<double> exploration;
  std::optional<double> epsilon;
  std::optional<double> window_s;
  double cfa_refresh_s = 60;
  double cfa_window_s = 300;
  double cfa_explore = 0.1;
  // The learned grouping (sim::LearnedGroupingConfig).
  std::optional<double> regroup_warmup_s;
  std::optional<double> regroup_interval_s;
  std::optional<std::size_t> learn_window;
  std::optional<double> learn_sample_rate;
  std::optional<std::size_t> learn_min_samples;
  std::optional<std::size_t> min_group_size;
  std::string learn_from = "lane";  // lane | explore (sim::LearnedSamples)
  bool plot = true;
  bool quiet = false;
  std::vector<std::string> arguments;  ///< the command line, for summary.json
};

int run_simulate(const SimulateCommand& command);

struct EvaluateCommand {
  std::string log;  ///< a --decision-log directory
  std::string policies = "logged,random";
  std::string grouping = "logged";
  std::string out;  ///< empty: print only
  double time_scale = 1;
  std::size_t bootstrap = 1000;
  std::uint64_t seed = 1;
  double half_life_s = 60;
  double exploration = 0.1;
  double epsilon = 0.1;
  double window_s = 120;
  double snapshot_interval_s = 0;
  std::string replay_time = "compressed";  // compressed | log
  std::size_t replay_runs = 5;
  bool plot = true;
  bool quiet = false;
  std::vector<std::string> arguments;
};

int run_evaluate(const EvaluateCommand& command);

struct TraceGenerateCommand {
  std::string config;
  std::string out;
  bool compact = false;
  std::int64_t seed = -1;  ///< >= 0 overrides the config's seed
  bool quiet = false;      ///< no progress bar
};

int run_trace_generate(const TraceGenerateCommand& command);

struct TraceConvertCommand {
  std::string in;
  std::string out;
  bool compact = false;
};

int run_trace_convert(const TraceConvertCommand& command);

struct TraceExportCommand {
  std::string log;  ///< a --decision-log directory
  std::string out;
  bool compact = false;
};

int run_trace_export(const TraceExportCommand& command);

}  // namespace pytheas::app
