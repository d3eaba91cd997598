#pragma once
// The original Pytheas trace format: one session per line, sorted by time,
//
//   <f0>\t<f1>...\t<fK-1>\tDecisionMap\t<d>,<cost>\t...\tLoadMap\t<d>,<l>;<x>;<l>;<x>...\t...\n
//
// where f0..fK-1 are the session's features in schema order. With the
// original's 15-label schema f0 is the Time label: the session start in
// milliseconds (the original trace player sends the whole prefix before
// "DecisionMap", time included, as the 15 feature values of its request).
// DecisionMap gives the cost each candidate would have for this session;
// LoadMap gives, per decision, thresholds on the share of this minute's
// sessions that chose it and the cost factor that applies above each one.
// docs/SIMULATION.md describes the format and our reading of it.
//
// Numbers keep the exact text they were read with, so write(parse(line)) ==
// line byte for byte for every valid line, and parse(write(s)) == s.
// Parsing is strict: any malformed line throws InvalidInput("line N: ...").
// TraceTextReader / TraceTextWriter stream with bounded memory (one line at a
// time, buffers reused). Not thread-safe; use one reader/writer per thread.

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/trace_source.hpp"

namespace pytheas {

/// A number in a trace: its value and the text it is written with.
struct TraceNumber {
  double value = 0;
  std::string text;

  /// The shortest text that reads back as exactly `value` (std::to_chars).
  /// Throws InvalidInput on NaN or infinity.
  static TraceNumber of(double value);

  bool operator==(const TraceNumber& other) const = default;
};

struct DecisionCost {
  std::string decision;
  TraceNumber cost;
  bool operator==(const DecisionCost& other) const = default;
};

/// Above `threshold` (a share of this minute's sessions, exclusive), the cost
/// is multiplied by `factor`; the highest threshold exceeded wins.
struct LoadStep {
  TraceNumber threshold;
  TraceNumber factor;
  bool operator==(const LoadStep& other) const = default;
};

struct DecisionLoad {
  std::string decision;
  std::vector<LoadStep> steps;
  bool operator==(const DecisionLoad& other) const = default;
};

/// One session of a trace. `features[0]` is the time text; `time_ms` its value.
struct TraceSession {
  std::int64_t time_ms = 0;
  std::vector<std::string> features;
  std::vector<DecisionCost> decisions;
  std::vector<DecisionLoad> loads;

  /// The LoadMap factor for `decision` at load share `share` (1 when the
  /// decision has no LoadMap entry or no threshold is exceeded).
  double load_factor(std::string_view decision, double share) const;

  bool operator==(const TraceSession& other) const = default;
};

/// Parses one line (without its '\n') into `out`, reusing out's buffers.
/// `expected_features` is the feature count (0: any count >= 1). Throws
/// InvalidInput("line N: ...") naming the problem; `out` is then unspecified.
void parse_trace_line(std::string_view line, std::size_t line_number, std::size_t expected_features,
                      TraceSession& out);

/// Appends the line for `session` (with its '\n') to `out`. Throws
/// InvalidInput when the session cannot be written unambiguously (a tab,
/// newline or reserved word in a string, a ',' in a decision name, a time
/// text that does not match time_ms, no decisions, ...).
void append_trace_line(const TraceSession& session, std::string& out);

/// Streams sessions out of text-format trace. Checks that times never go
/// backwards and that every line has the same number of features.
class TraceTextReader : public TraceSource {
 public:
  /// `expected_features` = 0 takes the count from the first line.
  explicit TraceTextReader(std::istream& in, std::size_t expected_features = 0);

  /// Reads the next session into `out`; false at end of input. Throws
  /// InvalidInput("line N: ...") on a malformed line or a read error.
  bool next(TraceSession& out) override;

  std::size_t line_number() const { return line_number_; }
  std::size_t feature_count() const override { return expected_features_; }

 private:
  std::istream& in_;
  std::size_t expected_features_;
  std::size_t line_number_ = 0;
  std::int64_t last_time_ms_ = INT64_MIN;
  std::string line_;
};

/// Streams sessions into a text-format trace; buffers up to ~64 KiB.
class TraceTextWriter : public TraceSink {
 public:
  explicit TraceTextWriter(std::ostream& out) : out_(out) {}
  ~TraceTextWriter() override;
  TraceTextWriter(const TraceTextWriter&) = delete;
  TraceTextWriter& operator=(const TraceTextWriter&) = delete;

  /// Throws InvalidInput like append_trace_line, or when times go backwards.
  void write(const TraceSession& session) override;
  /// Flushes to the stream; throws std::runtime_error on a write error.
  void flush() override;

 private:
  std::ostream& out_;
  std::string buffer_;
  std::int64_t last_time_ms_ = INT64_MIN;
};

}  // namespace pytheas
