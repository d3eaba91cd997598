// `pytheas trace generate`, `pytheas trace convert` and `pytheas trace export`.

#include <chrono>
#include <cstdio>
#include <exception>

#include "app/progress_bar.hpp"
#include "app/sim_commands.hpp"
#include "core/features.hpp"
#include "core/trace_format.hpp"
#include "core/trace_source.hpp"
#include "evaluation/log_reader.hpp"
#include "evaluation/trace_export.hpp"
#include "simulation/generator.hpp"

namespace pytheas::app {

int run_trace_generate(const TraceGenerateCommand& command) {
  try {
    auto config = sim::load_generator_config(command.config);
    if (command.seed >= 0) config.seed = static_cast<std::uint64_t>(command.seed);
    const auto start = std::chrono::steady_clock::now();
    auto sink = create_trace_file(command.out, command.compact, FeatureSchema::original().size());
    ProgressBar bar("trace generate", "sessions", !command.quiet);
    std::size_t written = 0;
    const auto sessions = sim::generate_trace(config, [&](const TraceSession& session) {
      sink->write(session);
      if ((++written & 0xFFF) == 0)
        bar.update(double(written) / double(config.sessions), double(written));
    });
    sink->flush();
    bar.update(1, double(sessions));
    bar.finish();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "pytheas: wrote %zu sessions to %s (%s form, seed %llu) in %.2f s\n",
                 sessions, command.out.c_str(), command.compact ? "compact" : "text",
                 static_cast<unsigned long long>(config.seed), seconds);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 1;
  }
}

int run_trace_convert(const TraceConvertCommand& command) {
  try {
    auto source = open_trace_file(command.in);
    TraceSession session;
    std::unique_ptr<TraceSink> sink;
    std::size_t sessions = 0;
    while (source->next(session)) {
      if (!sink) sink = create_trace_file(command.out, command.compact, session.features.size());
      sink->write(session);
      ++sessions;
    }
    if (!sink)
      sink = create_trace_file(command.out, command.compact, FeatureSchema::original().size());
    sink->flush();
    std::fprintf(stderr, "pytheas: converted %zu sessions to %s (%s form)\n", sessions,
                 command.out.c_str(), command.compact ? "compact" : "text");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pytheas: error: %s: %s\n", command.in.c_str(), e.what());
    return 1;
  }
}

int run_trace_export(const TraceExportCommand& command) {
  try {
    const auto log = evaluation::read_decision_log(command.log);
    auto sink =
        create_trace_file(command.out, command.compact, evaluation::exported_feature_count(log));
    const auto stats = evaluation::export_trace(log, *sink);
    sink->flush();
    std::fprintf(stderr,
                 "pytheas: exported %zu reported session(s) to %s (%s form; time column: %s); "
                 "skipped %zu unreported, %zu unwritable\n",
                 stats.sessions, command.out.c_str(), command.compact ? "compact" : "text",
                 stats.time_from_feature ? "the Time feature" : "the decision time (ms)",
                 stats.unreported, stats.unwritable);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace pytheas::app
