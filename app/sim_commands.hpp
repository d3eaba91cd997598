#pragma once
// The researcher-facing subcommands: `pytheas simulate`, `pytheas trace
// generate` and `pytheas trace convert`. Each returns the process exit code:
// 0 success, 1 runtime failure (one line on stderr), 2 usage error.

#include <cstdint>
#include <string>

namespace pytheas::app {

struct SimulateCommand {
  std::string trace;
  std::string policies = "ducb";
  std::string grouping = "Asn";
  std::string out;
  std::uint64_t seed = 1;
  double delay_s = 2;
  double interval_s = 60;
  double snapshot_interval_s = 0;
  double half_life_s = 60;
  double exploration = 0.1;  // the node's default (core/policy.hpp)
  double epsilon = 0.1;
  double window_s = 120;
  double cfa_refresh_s = 60;
  double cfa_window_s = 300;
  double cfa_explore = 0.1;
  // The learned grouping (sim::LearnedGroupingConfig).
  double regroup_warmup_s = 120;
  double regroup_interval_s = 600;
  std::size_t learn_window = 200000;
  double learn_sample_rate = 1;
  std::size_t min_group_size = 100;
  std::string learn_from = "lane";  // lane | explore (sim::LearnedSamples)
  bool plot = true;
  bool quiet = false;
};

int run_simulate(const SimulateCommand& command);

struct TraceGenerateCommand {
  std::string config;
  std::string out;
  bool compact = false;
  std::int64_t seed = -1;  ///< >= 0 overrides the config's seed
};

int run_trace_generate(const TraceGenerateCommand& command);

struct TraceConvertCommand {
  std::string in;
  std::string out;
  bool compact = false;
};

int run_trace_convert(const TraceConvertCommand& command);

}  // namespace pytheas::app
