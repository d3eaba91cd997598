#include "evaluation/log_reader.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/decision_snapshot.hpp"  // hash_decision: FNV-1a

namespace pytheas::evaluation {
namespace {

namespace dom = simdjson::dom;

std::string join_names(const std::vector<std::string>& names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out + "]";
}

// Reads one file and adds its records to `log`.
class FileReader {
 public:
  FileReader(LogData& log, std::unordered_map<std::uint64_t, std::uint32_t>& by_event,
             std::string& first_schema_file)
      : log_(log), by_event_(by_event), first_schema_file_(first_schema_file) {}

  /// Reads one file; calls `progress(bytes read in all files, total)` now and
  /// then.
  void read(const std::filesystem::path& path,
            const std::function<void(std::uint64_t, std::uint64_t)>& progress,
            std::uint64_t total) {
    path_ = path.string();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw LogError(path_ + ": cannot open");
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(in.tellg());
    in.seekg(0);
    buffer_.assign(size + simdjson::SIMDJSON_PADDING, '\0');
    in.read(buffer_.data(), static_cast<std::streamsize>(size));
    if (static_cast<std::size_t>(in.gcount()) != size) throw LogError(path_ + ": read error");
    const std::uint64_t before = log_.stats.bytes;
    log_.stats.bytes += size;
    ++log_.stats.files;

    std::size_t start = 0;
    line_ = 0;
    while (start < size) {
      auto end = std::string_view(buffer_.data(), size).find('\n', start);
      const bool complete = end != std::string_view::npos;
      if (!complete) end = size;
      ++line_;
      ++log_.stats.lines;
      const std::size_t length = end - start;
      if (length > 0) parse_line(start, length, complete);
      start = end + 1;
      if (progress && (line_ & 0xFFFF) == 0) progress(before + start, total);
    }
    if (line_ == 0) throw LogError(path_ + ": empty file (no header)");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw LogError(path_ + ":" + std::to_string(line_) + ": " + what);
  }

  void parse_line(std::size_t start, std::size_t length, bool complete) {
    dom::element record;
    const auto error = parser_.parse(buffer_.data() + start, length, false).get(record);
    if (error || !record.is_object()) {
      // A node killed mid-write leaves the last line of its file cut short.
      if (!complete && !error_was_header()) {
        ++log_.stats.torn_lines;
        return;
      }
      fail("not a JSON object (" +
           std::string(error ? simdjson::error_message(error) : "another JSON value") + ")");
    }
    std::string_view type;
    if (record["type"].get_string().get(type)) fail("no \"type\" field");
    if (line_ == 1) {
      if (type != "header") fail("not a pytheas decision log (the first record is no header)");
      header(record);
      return;
    }
    if (type == "decision")
      decision(record);
    else if (type == "report")
      report(record);
    else if (type != "header")
      fail("unknown record type '" + std::string(type) + "'");
  }

  bool error_was_header() const { return line_ == 1; }

  void header(const dom::element& record) {
    std::string_view format;
    if (record["format"].get_string().get(format) || format != kLogFormatName)
      fail("not a pytheas decision log (format is not \"" + std::string(kLogFormatName) + "\")");
    std::int64_t version = 0;
    if (record["version"].get_int64().get(version)) fail("header has no version");
    if (version != kLogFormatVersion)
      fail("log format version " + std::to_string(version) + "; this pytheas reads version " +
           std::to_string(kLogFormatVersion));
    dom::array features;
    if (record["features"].get_array().get(features)) fail("header has no feature list");
    std::vector<std::string> names;
    for (auto value : features) {
      std::string_view name;
      if (value.get_string().get(name)) fail("header: a feature name is not a string");
      names.emplace_back(name);
    }
    if (first_schema_file_.empty()) {
      log_.feature_names = std::move(names);
      first_schema_file_ = path_;
    } else if (names != log_.feature_names) {
      fail("mixed schema: this file's features " + join_names(names) + " differ from " +
           join_names(log_.feature_names) + " in " + first_schema_file_ +
           " (evaluate one schema at a time: move one set of files elsewhere)");
    }
  }

  double number(const dom::element& record, const char* field, bool required = true) {
    double value = 0;
    auto element = record[field];
    if (element.error()) {
      if (required) fail(std::string("no \"") + field + "\" field");
      return NAN;
    }
    if (element.get_double().get(value) || !std::isfinite(value))
      fail(std::string("\"") + field + "\" is not a finite number");
    return value;
  }

  std::string_view string(const dom::element& record, const char* field) {
    std::string_view value;
    if (record[field].get_string().get(value))
      fail(std::string("no string \"") + field + "\" field");
    return value;
  }

  void decision(const dom::element& record) {
    LoggedDecision d;
    d.time = number(record, "time");
    if (record["propensity"].error())
      fail(
          "decision record has no \"propensity\": a log without propensities cannot be "
          "evaluated off-policy");
    d.propensity = number(record, "propensity");
    if (!(d.propensity > 0 && d.propensity <= 1))
      fail("propensity " + std::to_string(d.propensity) + " is not in (0, 1]");
    const auto event_id = string(record, "event_id");
    if (event_id.empty()) fail("empty \"event_id\"");
    d.event_id = log_.strings.intern(event_id);
    d.group = log_.strings.intern(string(record, "group"));
    std::string_view policy;
    if (!record["policy"].get_string().get(policy)) d.policy = log_.strings.intern(policy);
    std::uint64_t version = 0;
    if (!record["policy_version"].get_uint64().get(version)) d.policy_version = version;
    bool issued = true;
    if (!record["issued"].get_bool().get(issued)) d.issued = issued;

    dom::array features, candidates;
    if (record["features"].get_array().get(features)) fail("no \"features\" array");
    if (record["candidates"].get_array().get(candidates)) fail("no \"candidates\" array");
    if (features.size() != log_.feature_names.size())
      fail(std::to_string(features.size()) + " feature values; the header names " +
           std::to_string(log_.feature_names.size()));
    if (candidates.size() == 0) fail("empty \"candidates\"");
    const auto chosen = string(record, "decision");
    d.features = static_cast<std::uint32_t>(log_.values.size());
    for (auto value : features) {
      std::string_view text;
      if (value.get_string().get(text)) fail("a feature value is not a string");
      log_.values.push_back(log_.strings.intern(text));
    }
    d.candidates = static_cast<std::uint32_t>(log_.values.size());
    d.candidate_count = static_cast<std::uint32_t>(candidates.size());
    bool found = false;
    std::uint32_t index = 0;
    for (auto value : candidates) {
      std::string_view text;
      if (value.get_string().get(text)) fail("a candidate is not a string");
      if (!found && text == chosen) {
        d.chosen = index;
        found = true;
      }
      log_.values.push_back(log_.strings.intern(text));
      ++index;
    }
    if (!found) fail("decision '" + std::string(chosen) + "' is not among the candidates");
    by_event_[hash_decision(event_id)] = static_cast<std::uint32_t>(log_.decisions.size());
    log_.decisions.push_back(d);
    ++log_.stats.decisions;
  }

  void report(const dom::element& record) {
    ++log_.stats.reports;
    const double time = number(record, "time");
    const double score = number(record, "score");
    const auto join = string(record, "join");
    if (join == "unmatched") {
      ++log_.stats.unmatched_reports;
      return;
    }
    if (join != "event_id" && join != "inferred")
      fail("unknown \"join\" '" + std::string(join) + "'");
    const auto event_id = string(record, "event_id");
    auto it = by_event_.find(hash_decision(event_id));
    if (it == by_event_.end() || log_.text(log_.decisions[it->second].event_id) != event_id) {
      ++log_.stats.orphan_reports;
      return;
    }
    auto& d = log_.decisions[it->second];
    if (d.reported) {
      ++log_.stats.duplicate_reports;
      return;
    }
    d.reported = true;
    d.score = score;
    d.report_time = time;
    d.join = join == "inferred" ? ReportJoin::inferred : ReportJoin::event_id;
    ++(join == "inferred" ? log_.stats.joined_inferred : log_.stats.joined_by_event_id);
  }

  LogData& log_;
  std::unordered_map<std::uint64_t, std::uint32_t>& by_event_;
  std::string& first_schema_file_;
  dom::parser parser_;
  std::string buffer_;
  std::string path_;
  std::size_t line_ = 0;
};

}  // namespace

std::uint32_t StringPool::intern(std::string_view text) {
  if (auto it = ids_.find(text); it != ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(texts_.size());
  texts_.emplace_back(text);
  ids_.emplace(texts_.back(), id);
  return id;
}

LogData read_decision_log(const std::filesystem::path& dir,
                          const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error))
    throw LogError(dir.string() + ": not a directory (give the --decision-log directory)");
  std::vector<std::filesystem::path> files;
  std::uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (!entry.is_regular_file() || !is_log_file_name(entry.path().filename().string())) continue;
    files.push_back(entry.path());
    total += entry.file_size(error);
  }
  if (error) throw LogError(dir.string() + ": cannot list: " + error.message());
  if (files.empty())
    throw LogError(dir.string() + ": no decision log files (" + std::string(kLogFilePrefix) + "*" +
                   std::string(kLogFileSuffix) + ")");
  std::sort(files.begin(), files.end());

  LogData log;
  log.dir = dir;
  std::unordered_map<std::uint64_t, std::uint32_t> by_event;
  std::string first_schema_file;
  FileReader reader(log, by_event, first_schema_file);
  for (const auto& file : files) {
    reader.read(file, progress, total);
    if (progress) progress(log.stats.bytes, total);
  }
  return log;
}

}  // namespace pytheas::evaluation
