// `pytheas replay`: see app/replay_command.hpp and docs/REPLAY.md.

#include "app/replay_command.hpp"
#include "app/plot_script.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string_view>

#include "core/errors.hpp"
#include "core/trace_format.hpp"
#include "core/trace_source.hpp"
#include "simulation/replay.hpp"
#include "simulation/replay_output.hpp"

namespace pytheas::app {
namespace {

// Trace length in seconds (first to last session), for the progress bar;
// read in a first pass only when the bar is shown.
double trace_span_seconds(const std::string& path) {
  auto source = open_trace_file(path);
  TraceSession session;
  std::int64_t first = -1, last = 0;
  while (source->next(session)) {
    if (first < 0) first = session.time_ms;
    last = session.time_ms;
  }
  return first < 0 ? 0 : double(last - first) / 1e3;
}

void draw_progress(const sim::ReplayProgress& progress, double total, bool by_count) {
  const double done = by_count ? double(progress.sent) : progress.trace_position_s;
  const double fraction = total > 0 ? std::min(1.0, done / total) : 0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
  bar[kWidth] = '\0';
  std::fprintf(stderr, "\r[%s] %3.0f%% %6.1fs sent %llu ok %llu failed %llu reports %llu ", bar,
               fraction * 100, progress.elapsed_s, (unsigned long long)progress.sent,
               (unsigned long long)progress.decide_ok, (unsigned long long)progress.decide_failed,
               (unsigned long long)progress.reports_ok);
}

}  // namespace

int run_replay_command(const ReplayCommand& command) {
  sim::ReplayOptions options;
  options.urls = command.urls;
  options.protocol = command.protocol == "legacy" ? sim::ReplayProtocolKind::legacy
                                                  : sim::ReplayProtocolKind::json;
  options.speed = command.speed;
  options.rps = command.rps;
  options.duration_s = command.duration_s;
  options.report_delay_s = command.report_delay_s;
  options.timeout = std::chrono::milliseconds(command.timeout_ms);
  options.connections = command.connections;
  options.allow_remote = command.allow_remote;
  options.failover = command.failover;
  options.failover_hold_s = command.failover_hold_s;
  try {
    if (!command.count_by.empty())
      options.count_by = make_feature_grouping(options.schema, command.count_by);
    options.validate();
  } catch (const InvalidInput& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 2;
  }

  const bool show_progress = !command.quiet && isatty(STDERR_FILENO);
  sim::ReplayStats stats;
  sim::ReplayResult result;
  try {
    std::function<void(const sim::ReplayProgress&)> progress;
    if (show_progress) {
      // With --rps the bar counts sessions; else trace time.
      double total = 0;
      bool by_count = command.rps > 0;
      if (by_count) {
        auto source = open_trace_file(command.trace);
        TraceSession session;
        while (source->next(session)) total += 1;
      } else {
        total = trace_span_seconds(command.trace);
      }
      progress = [total, by_count](const sim::ReplayProgress& p) {
        draw_progress(p, total, by_count);
      };
    }
    auto source = open_trace_file(command.trace);
    result = sim::run_replay(*source, options, stats, progress);
    if (show_progress) std::fprintf(stderr, "\n");
    sim::write_replay_outputs(command.out, stats, result);
  } catch (const InvalidInput& e) {
    if (show_progress) std::fprintf(stderr, "\n");
    // A target refused before anything was sent is a usage error; anything
    // else is the trace's fault.
    if (std::string_view(e.what()).starts_with("--url")) {
      std::fprintf(stderr, "pytheas: error: %s\n", e.what());
      return 2;
    }
    std::fprintf(stderr, "pytheas: error: %s: %s\n", command.trace.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    if (show_progress) std::fprintf(stderr, "\n");
    std::fprintf(stderr, "pytheas: error: %s: %s\n", command.trace.c_str(), e.what());
    return 1;
  }

  if (!command.quiet) std::printf("%s\n", sim::format_replay_summary(stats, result).c_str());
  std::fflush(stdout);
  if (command.plot) {
    const auto script = find_plot_script("PYTHEAS_REPLAY_PLOT_SCRIPT", "plot-replay");
    if (script.empty()) {
      std::fprintf(stderr,
                   "pytheas: note: scripts/plot-replay not found (set PYTHEAS_REPLAY_PLOT_SCRIPT); "
                   "no PNG plots, the CSVs are in %s\n",
                   command.out.c_str());
    } else if (const int code = run_plot_script(script, command.out); code != 0) {
      std::fprintf(stderr,
                   "pytheas: note: no PNG plots (plot-replay exit %d; it needs gnuplot: "
                   "apt-get install gnuplot-nox, or scripts/deps --bench); the CSVs are in %s\n",
                   code, command.out.c_str());
    }
  }
  return 0;
}

}  // namespace pytheas::app
