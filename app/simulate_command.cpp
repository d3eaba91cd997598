// `pytheas simulate`: runs a trace through the policies, writes CSVs and the
// summary to --out, then draws the plots with scripts/plot-simulation when
// that script and gnuplot are present.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "app/plot_script.hpp"
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
  // `learned` is a valid grouping that this build cannot run yet: a runtime
  // failure (1), not a usage error (2).
  bool wants_learned = options.grouping == "learned";
  for (const auto& lane : options.lanes)
    wants_learned |= lane.size() > 8 && lane.ends_with("@learned");
  if (wants_learned) {
    std::fprintf(stderr,
                 "pytheas: error: learned grouping is not available yet (it needs the backend "
                 "grouping learner); use --grouping global or a feature list such as Asn,City\n");
    return 1;
  }
  try {
    options.validate();
  } catch (const InvalidInput& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 2;
  }

  sim::SimulationResult result;
  try {
    auto source = open_trace_file(command.trace, options.schema.size());
    result = sim::simulate(*source, options);
    sim::write_simulation_outputs(command.out, result);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pytheas: error: %s: %s\n", command.trace.c_str(), e.what());
    return 1;
  }

  if (!command.quiet) {
    std::printf("%zu sessions, %zu decisions; trace read in %.2f s (%.0f sessions/s)\n",
                result.sessions, result.decisions, result.load_seconds,
                result.load_seconds > 0 ? double(result.sessions) / result.load_seconds : 0.0);
    std::printf("%s", sim::format_summary(result).c_str());
    std::printf("results in %s\n", command.out.c_str());
  }
  std::fflush(stdout);  // the table before the plot script's own messages
  if (command.plot) {
    const auto script = find_plot_script("PYTHEAS_PLOT_SCRIPT", "plot-simulation");
    if (script.empty()) {
      std::fprintf(stderr,
                   "pytheas: note: scripts/plot-simulation not found (set PYTHEAS_PLOT_SCRIPT); "
                   "no PNG plots, the CSVs are in %s\n",
                   command.out.c_str());
    } else {
      const int code = run_plot_script(script, command.out);
      if (code != 0)
        std::fprintf(stderr,
                     "pytheas: note: no PNG plots (plot-simulation exit %d; it needs gnuplot: "
                     "apt-get install gnuplot-nox, or scripts/deps --bench); the CSVs are in %s\n",
                     code, command.out.c_str());
    }
  }
  return 0;
}

}  // namespace pytheas::app
