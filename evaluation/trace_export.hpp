#pragma once
// export_trace: the reported sessions of a decision log in the trace format
// (core/trace_format.hpp), for researchers' own tools: per session its
// features, and a DecisionMap holding only the chosen decision with its cost
// (= -score: the trace format counts costs); no LoadMap entries (the log
// cannot know them). Sessions are written in time order. The time column:
// when the log's first feature is `Time` and every exported session's Time
// value is a whole number of milliseconds (what `pytheas replay` sends), the
// sessions keep it (an exported replay lines up with its trace); otherwise
// the decision's time (ms since the epoch) replaces a first `Time` feature,
// or is put in front of the features when the schema has none.
// Sessions never reported, or holding a value the trace format cannot carry
// (a tab, a newline), are skipped and counted.

#include <cstddef>

#include "core/trace_source.hpp"
#include "evaluation/log_reader.hpp"

namespace pytheas::evaluation {

struct TraceExportStats {
  std::size_t sessions = 0;        ///< written
  std::size_t unreported = 0;      ///< decisions without a report: skipped
  std::size_t unwritable = 0;      ///< a value the trace format cannot hold: skipped
  bool time_from_feature = false;  ///< the Time feature was kept as the time column
};

/// Writes to `sink` (not flushed). Throws std::runtime_error from the sink.
TraceExportStats export_trace(const LogData& log, TraceSink& sink);

/// The features per exported session (the log's, plus one when a time
/// column is put in front).
std::size_t exported_feature_count(const LogData& log);

}  // namespace pytheas::evaluation
