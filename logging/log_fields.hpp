#pragma once
// Structured fields of one log line: `log_event(level, fields, fmt, args...)`
// logs through spdlog's default logger with `fields` attached, and the
// formatter (log_formatters.hpp) writes them: as JSON members with
// --log-format json, as ` key=value` after the message in text.
//
// The fields travel in a thread-local slot that is set only for the duration
// of the spdlog call: the node's loggers are synchronous, so the formatter
// runs on the calling thread, inside that call. Thread-safety: every function
// may be called from any thread.

#include <spdlog/spdlog.h>

#include <optional>
#include <string_view>

namespace pytheas {

/// Unset (empty) fields are left out. Initialise by name:
/// `LogFields{.group = key, .decision = name}`.
struct LogFields {
  std::string_view event_id = {};
  std::string_view group = {};
  std::string_view decision = {};
  std::string_view policy = {};
  std::string_view outcome = {};  ///< what became of a report: accepted, duplicate, ...
  std::optional<double> propensity = {};
  std::optional<double> score = {};
};

/// The fields of the line being logged on this thread, or null.
const LogFields* current_log_fields();

/// Attaches `fields` to the lines this thread logs while it lives.
class ScopedLogFields {
 public:
  explicit ScopedLogFields(const LogFields& fields);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  const LogFields* previous_;
};

/// Logs `format` with `fields` attached. Cheap when `level` is off: nothing is
/// formatted.
template <typename... Args>
void log_event(spdlog::level::level_enum level, const LogFields& fields,
               spdlog::format_string_t<Args...> format, Args&&... args) {
  if (!spdlog::should_log(level)) return;
  ScopedLogFields scope(fields);
  spdlog::log(level, format, std::forward<Args>(args)...);
}

}  // namespace pytheas
