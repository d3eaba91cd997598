#pragma once
// The decision log's format: JSON Lines, one record per line, in files named
// decisions-<UTC open time>-<sequence>.jsonl (lexical order = time order).
// Every file starts with a header; then decision and report records in the
// order the node handled them. docs/EVALUATION.md is the reference:
//
//   {"type":"header","format":"pytheas-decision-log","version":1,
//    "features":["Time",...],"node":"fe-1","opened_at":1700000000.5}
//   {"type":"decision","time":1700000001.25,"event_id":"9f3c...","issued":true,
//    "group":"Asn=7922","features":["...",...],"candidates":["cdn-a","cdn-b"],
//    "decision":"cdn-b","propensity":0.5,"policy":"ducb","policy_version":17}
//   {"type":"report","time":1700000003.3,"event_id":"9f3c...","score":4.2,
//    "delay":2.05,"join":"event_id"}
//
// A report's "join" says how it found its decision: "event_id" (the client
// sent the event id), "inferred" (a report by features, joined by the log to
// the latest unreported decision with the same features and decision inside
// the event window; "event_id" names that decision), or "unmatched" (no such
// decision: the record carries "features" and "decision" instead).
// "delay" (seconds from the decision) is omitted when the log no longer knew
// the decision's time. "issued": false marks a decision whose event id the log
// assigned (the legacy protocol issues none).
//
// Strings are UTF-8; a byte that is not part of valid UTF-8 (the legacy form
// can carry any bytes) is written as the code point U+00XX of that byte.
// Numbers are written in the shortest form that reads back exactly (times to
// the microsecond). The functions here are pure; safe from any thread.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pytheas::evaluation {

inline constexpr std::string_view kLogFormatName = "pytheas-decision-log";
inline constexpr int kLogFormatVersion = 1;
inline constexpr std::string_view kLogFilePrefix = "decisions-";
inline constexpr std::string_view kLogFileSuffix = ".jsonl";

/// How a report was joined to its decision (the "join" field).
enum class ReportJoin { event_id, inferred, unmatched };

const char* to_string(ReportJoin join);

/// Appends `text` as a JSON string (quotes included), escaping as described above.
void append_json_string(std::string& out, std::string_view text);

/// Appends the shortest text that reads back as exactly `value` (null if not finite).
void append_json_number(std::string& out, double value);

/// Appends a time in seconds with microsecond resolution ("1700000001.250000").
void append_json_time(std::string& out, double seconds);

struct DecisionLine {
  double time = 0;
  std::string_view event_id;
  bool issued = true;
  std::string_view group;
  std::span<const std::string_view> features;
  std::span<const std::string_view> candidates;
  std::size_t chosen = 0;  ///< index into candidates
  double propensity = 1;
  std::string_view policy;
  std::uint64_t policy_version = 0;
};

struct ReportLine {
  double time = 0;
  ReportJoin join = ReportJoin::event_id;
  std::string_view event_id;  ///< empty when unmatched
  double score = 0;
  double delay = -1;  ///< < 0: unknown (omitted)
  /// Only for unmatched reports.
  std::span<const std::string_view> features;
  std::string_view decision;
};

/// Each appends one line, newline included.
void append_header_line(std::string& out, std::span<const std::string> features,
                        std::string_view node, double opened_at);
void append_decision_line(std::string& out, const DecisionLine& line);
void append_report_line(std::string& out, const ReportLine& line);

/// "decisions-20240102T030405.678Z-000007.jsonl" for a file opened at
/// `unix_seconds`, the writer's `sequence`-th file.
std::string log_file_name(double unix_seconds, std::uint64_t sequence);

/// Whether `name` looks like a log file name (prefix and suffix).
bool is_log_file_name(std::string_view name);

}  // namespace pytheas::evaluation
