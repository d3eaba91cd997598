#pragma once
// TraceSource: anything that yields trace sessions in time order (a text
// trace, a compact trace). TraceSink: anything that takes them. The simulator
// and the trace tools work on these, so both trace forms work everywhere.
// Implementations are not thread-safe.

#include <memory>
#include <string>

namespace pytheas {

struct TraceSession;

class TraceSource {
 public:
  virtual ~TraceSource() = default;
  /// Reads the next session into `out` (reusing its buffers); false at the
  /// end. Throws InvalidInput (text) or CorruptState (compact) on bad input.
  virtual bool next(TraceSession& out) = 0;
  /// Features per session (known after the first next() for text traces).
  virtual std::size_t feature_count() const = 0;
  /// Share of the input read so far in [0, 1], for progress bars; < 0 when
  /// unknown. May cost a system call: call it now and then, not per session.
  virtual double fraction_read() const { return -1; }
};

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  /// Throws InvalidInput when the session cannot be written.
  virtual void write(const TraceSession& session) = 0;
  /// Writes out buffered data; throws std::runtime_error on an I/O error.
  virtual void flush() = 0;
};

/// Opens a trace file of either form (the compact form is recognised by its
/// magic). Throws std::runtime_error when the file cannot be opened.
std::unique_ptr<TraceSource> open_trace_file(const std::string& path,
                                             std::size_t expected_features = 0);

/// Creates a trace file: compact when `compact`, else text. Throws
/// std::runtime_error when the file cannot be created.
std::unique_ptr<TraceSink> create_trace_file(const std::string& path, bool compact,
                                             std::size_t feature_count);

}  // namespace pytheas
