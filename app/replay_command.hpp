#pragma once
// `pytheas replay`: plays a trace against live nodes (simulation/replay.hpp)
// and writes the measurements to --out (simulation/replay_output.hpp) with
// summary.json, then draws the plots (the compiled-in scripts/plot-replay). Returns the exit code:
// 0 done (failed requests are measurements, not errors), 1 runtime failure, 2 usage error (bad
// value, non-loopback target without --allow-remote).

#include <string>
#include <vector>

namespace pytheas::app {

struct ReplayCommand {
  std::string trace;
  std::vector<std::string> urls;
  std::string protocol = "json";
  double speed = 1;
  double rps = 0;
  double duration_s = 0;
  double report_delay_s = 2;
  int timeout_ms = 3000;
  std::size_t connections = 32;
  bool allow_remote = false;
  bool failover = false;              ///< retry on the next URL after a transport failure
  double failover_hold_s = 2;         ///< seconds a failed URL is avoided
  std::vector<std::string> count_by;  ///< features: count reports per group of them
  std::string out;
  bool plot = true;
  bool quiet = false;
  std::vector<std::string> arguments;  ///< the command line, for summary.json
};

int run_replay_command(const ReplayCommand& command);

}  // namespace pytheas::app
