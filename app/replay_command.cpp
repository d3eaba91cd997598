// `pytheas replay`: see app/replay_command.hpp and docs/REPLAY.md.

#include "app/replay_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string_view>

#include "app/plot_script.hpp"
#include "app/progress_bar.hpp"
#include "app/run_manifest.hpp"
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

RunManifest replay_manifest(const ReplayCommand& command) {
  RunManifest manifest;
  manifest.command = "replay";
  manifest.arguments = command.arguments;
  manifest.settings.text("trace", command.trace)
      .texts("urls", command.urls)
      .text("protocol", command.protocol)
      .number("speed", command.rps > 0 ? 0.0 : command.speed)
      .number("rps", command.rps)
      .number("duration_s", command.duration_s)
      .number("report_delay_s", command.report_delay_s)
      .integer("timeout_ms", static_cast<std::uint64_t>(command.timeout_ms))
      .integer("connections", command.connections)
      .boolean("failover", command.failover)
      .number("failover_hold_s", command.failover_hold_s);
  return manifest;
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

  ProgressBar bar("replay", "sessions", !command.quiet);
  const bool show_progress = bar.active();
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
      progress = [&bar, total, by_count](const sim::ReplayProgress& p) {
        const double done = by_count ? double(p.sent) : p.trace_position_s;
        char detail[96];
        std::snprintf(detail, sizeof detail, "ok %llu failed %llu reports %llu",
                      (unsigned long long)p.decide_ok, (unsigned long long)p.decide_failed,
                      (unsigned long long)p.reports_ok);
        bar.update(total > 0 ? done / total : -1, double(p.sent), detail);
      };
    }
    auto source = open_trace_file(command.trace);
    result = sim::run_replay(*source, options, stats, progress);
    bar.finish();
    sim::write_replay_outputs(command.out, stats, result);
    write_run_manifest(command.out, replay_manifest(command));
  } catch (const InvalidInput& e) {
    bar.finish();
    // A target refused before anything was sent is a usage error; anything
    // else is the trace's fault.
    if (std::string_view(e.what()).starts_with("--url")) {
      std::fprintf(stderr, "pytheas: error: %s\n", e.what());
      return 2;
    }
    std::fprintf(stderr, "pytheas: error: %s: %s\n", command.trace.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    bar.finish();
    std::fprintf(stderr, "pytheas: error: %s: %s\n", command.trace.c_str(), e.what());
    return 1;
  }

  if (!command.quiet) std::printf("%s\n", sim::format_replay_summary(stats, result).c_str());
  std::fflush(stdout);
  if (command.plot)
    draw_plots("plot-replay", "PYTHEAS_REPLAY_PLOT_SCRIPT", command.out, command.quiet);
  return 0;
}

}  // namespace pytheas::app
