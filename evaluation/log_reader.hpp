#pragma once
// Reading a decision log back (the directory `pytheas node --decision-log`
// wrote): every decision, with the first report that joined it. Strings are
// interned, so a logged decision costs about 100 bytes in memory plus 4 per
// feature and candidate.
//
// Checked, with "FILE:LINE: problem" errors (LogError): every file starts with
// a header of this format and version; all files have the same feature list
// (a directory mixing two schemas is refused, naming both files); every
// decision record has a propensity in (0, 1], a decision among its
// candidates and one value per feature. A line cut short at the very end of a
// file (a node killed mid-write) is skipped and counted, not an error.
// Reports whose decision is not in the log (rotated away by the disk cap,
// logged before the log started) and second reports of a decision are
// counted and ignored.
// The result is a plain value; the functions are thread-compatible.

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "evaluation/log_format.hpp"

namespace pytheas::evaluation {

/// A log that cannot be evaluated; what() names the file and line.
class LogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Interned strings: equal strings get the same id.
class StringPool {
 public:
  std::uint32_t intern(std::string_view text);
  std::string_view text(std::uint32_t id) const { return texts_[id]; }
  std::size_t size() const { return texts_.size(); }

 private:
  std::deque<std::string> texts_;  ///< stable addresses for the map's keys
  std::unordered_map<std::string_view, std::uint32_t> ids_;
};

/// One logged decision and, when it was reported, its score.
struct LoggedDecision {
  double time = 0;  ///< unix seconds
  std::uint32_t event_id = 0;
  std::uint32_t group = 0;
  std::uint32_t policy = 0;
  std::uint64_t policy_version = 0;
  std::uint32_t features = 0;    ///< offset into LogData::values (feature_names.size() values)
  std::uint32_t candidates = 0;  ///< offset into LogData::values
  std::uint32_t candidate_count = 0;
  std::uint32_t chosen = 0;  ///< index into its candidates
  double propensity = 1;
  bool issued = true;  ///< false: the event id was assigned by the log (legacy decision)
  bool reported = false;
  ReportJoin join = ReportJoin::event_id;  ///< how the report found it
  double score = 0;
  double report_time = 0;
};

struct LogReadStats {
  std::size_t files = 0;
  std::size_t lines = 0;
  std::size_t decisions = 0;
  std::size_t reports = 0;
  std::size_t joined_by_event_id = 0;
  std::size_t joined_inferred = 0;
  std::size_t unmatched_reports = 0;  ///< reports by features the node could not join
  std::size_t orphan_reports = 0;     ///< their decision is not in the log
  std::size_t duplicate_reports = 0;  ///< a second report of one decision
  std::size_t torn_lines = 0;         ///< cut-off last lines, skipped
  std::uint64_t bytes = 0;
};

struct LogData {
  std::filesystem::path dir;
  std::vector<std::string> feature_names;
  std::vector<LoggedDecision> decisions;  ///< in log order
  std::vector<std::uint32_t> values;      ///< string ids: features and candidates
  StringPool strings;
  LogReadStats stats;

  std::string_view text(std::uint32_t id) const { return strings.text(id); }
  std::span<const std::uint32_t> features_of(const LoggedDecision& d) const {
    return {values.data() + d.features, feature_names.size()};
  }
  std::span<const std::uint32_t> candidates_of(const LoggedDecision& d) const {
    return {values.data() + d.candidates, d.candidate_count};
  }
  std::uint32_t chosen_of(const LoggedDecision& d) const { return values[d.candidates + d.chosen]; }
};

/// Reads every log file in `dir`, oldest first. `progress(done, total)` is
/// called with bytes read so far. Throws LogError (no log files, a bad
/// record, mixed schemas, a record without a propensity).
LogData read_decision_log(const std::filesystem::path& dir,
                          const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

}  // namespace pytheas::evaluation
