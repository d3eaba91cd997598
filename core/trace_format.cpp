#include "core/trace_format.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "core/errors.hpp"

namespace pytheas {
namespace {

constexpr std::string_view kDecisionMap = "DecisionMap";
constexpr std::string_view kLoadMap = "LoadMap";

[[noreturn]] void fail(std::size_t line_number, const std::string& message) {
  throw InvalidInput("line " + std::to_string(line_number) + ": " + message);
}

std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 40;
  std::string shown(text.substr(0, kMax));
  if (text.size() > kMax) shown += "...";
  return "'" + shown + "'";
}

// Parses a whole field as a finite double, keeping its text.
void parse_number(std::string_view text, std::size_t line_number, const char* what,
                  TraceNumber& out) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value))
    fail(line_number, std::string(what) + " " + quoted(text) + " is not a finite number");
  out.value = value;
  out.text.assign(text);
}

std::int64_t parse_time(std::string_view text, std::size_t line_number) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 0)
    fail(line_number, "time " + quoted(text) + " is not a non-negative integer (milliseconds)");
  return value;
}

// Splits `text` at the first `sep`; returns false when there is none.
bool split_once(std::string_view text, char sep, std::string_view& head, std::string_view& tail) {
  auto pos = text.find(sep);
  if (pos == std::string_view::npos) return false;
  head = text.substr(0, pos);
  tail = text.substr(pos + 1);
  return true;
}

// Iterates over the tab-separated fields of a line.
class FieldCursor {
 public:
  explicit FieldCursor(std::string_view line) : rest_(line) {}
  bool next(std::string_view& field) {
    if (done_) return false;
    auto pos = rest_.find('\t');
    if (pos == std::string_view::npos) {
      field = rest_;
      done_ = true;
    } else {
      field = rest_.substr(0, pos);
      rest_ = rest_.substr(pos + 1);
    }
    return true;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

void check_text(std::string_view text, const char* what, std::string_view forbidden) {
  for (char c : text) {
    if (c == '\t' || c == '\n' || c == '\r' || forbidden.find(c) != std::string_view::npos)
      throw InvalidInput(std::string("trace writer: ") + what + " " + quoted(text) +
                         " contains a character the trace format cannot hold");
  }
  if (text == kDecisionMap || text == kLoadMap)
    throw InvalidInput(std::string("trace writer: ") + what + " may not be the reserved word " +
                       quoted(text));
}

void check_number(const TraceNumber& number, const char* what) {
  double reread = 0;
  const char* end = number.text.data() + number.text.size();
  auto [ptr, ec] = std::from_chars(number.text.data(), end, reread);
  if (number.text.empty() || ec != std::errc() || ptr != end || reread != number.value ||
      !std::isfinite(number.value))
    throw InvalidInput(std::string("trace writer: ") + what + " text " + quoted(number.text) +
                       " does not read back as its value");
}

// Appends the line; may leave a partial line behind when it throws.
void append_line_impl(const TraceSession& session, std::string& out);

}  // namespace

TraceNumber TraceNumber::of(double value) {
  if (!std::isfinite(value)) throw InvalidInput("trace number must be finite");
  char buffer[64];
  auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) throw InvalidInput("trace number cannot be formatted");
  return TraceNumber{value, std::string(buffer, ptr)};
}

double TraceSession::load_factor(std::string_view decision, double share) const {
  for (const auto& load : loads) {
    if (load.decision != decision) continue;
    double best_threshold = -INFINITY;
    double factor = 1;
    for (const auto& step : load.steps) {
      if (share > step.threshold.value && step.threshold.value > best_threshold) {
        best_threshold = step.threshold.value;
        factor = step.factor.value;
      }
    }
    return factor;
  }
  return 1;
}

void parse_trace_line(std::string_view line, std::size_t line_number, std::size_t expected_features,
                      TraceSession& out) {
  if (line.find('\r') != std::string_view::npos) fail(line_number, "carriage return in line");
  FieldCursor cursor(line);
  std::string_view field;

  // Features up to "DecisionMap".
  std::size_t feature_count = 0;
  bool saw_decision_map = false;
  while (cursor.next(field)) {
    if (field == kDecisionMap) {
      saw_decision_map = true;
      break;
    }
    if (field == kLoadMap) fail(line_number, "LoadMap before DecisionMap");
    if (feature_count < out.features.size())
      out.features[feature_count].assign(field);
    else
      out.features.emplace_back(field);
    ++feature_count;
  }
  if (!saw_decision_map) fail(line_number, "no DecisionMap field");
  out.features.resize(feature_count);
  if (feature_count == 0) fail(line_number, "no features before DecisionMap");
  if (expected_features != 0 && feature_count != expected_features)
    fail(line_number, "expected " + std::to_string(expected_features) + " features, found " +
                          std::to_string(feature_count));
  out.time_ms = parse_time(out.features[0], line_number);

  // DecisionMap entries up to "LoadMap".
  std::size_t decision_count = 0;
  bool saw_load_map = false;
  while (cursor.next(field)) {
    if (field == kLoadMap) {
      saw_load_map = true;
      break;
    }
    std::string_view name, cost;
    if (!split_once(field, ',', name, cost))
      fail(line_number, "DecisionMap entry " + quoted(field) + " is not DECISION,COST");
    if (name.empty()) fail(line_number, "DecisionMap entry " + quoted(field) + " has no decision");
    for (std::size_t i = 0; i < decision_count; ++i)
      if (out.decisions[i].decision == name)
        fail(line_number, "decision " + quoted(name) + " appears twice in DecisionMap");
    if (decision_count == out.decisions.size()) out.decisions.emplace_back();
    auto& entry = out.decisions[decision_count++];
    entry.decision.assign(name);
    parse_number(cost, line_number, "cost", entry.cost);
  }
  out.decisions.resize(decision_count);
  if (!saw_load_map) fail(line_number, "no LoadMap field");
  if (decision_count == 0) fail(line_number, "DecisionMap is empty");

  // LoadMap entries to the end of the line.
  std::size_t load_count = 0;
  while (cursor.next(field)) {
    std::string_view name, steps;
    if (!split_once(field, ',', name, steps))
      fail(line_number, "LoadMap entry " + quoted(field) + " is not DECISION,LOAD;FACTOR;...");
    bool known = false;
    for (std::size_t i = 0; i < decision_count; ++i) known |= out.decisions[i].decision == name;
    if (!known) fail(line_number, "LoadMap decision " + quoted(name) + " is not in DecisionMap");
    for (std::size_t i = 0; i < load_count; ++i)
      if (out.loads[i].decision == name)
        fail(line_number, "decision " + quoted(name) + " appears twice in LoadMap");
    if (load_count == out.loads.size()) out.loads.emplace_back();
    auto& entry = out.loads[load_count++];
    entry.decision.assign(name);
    // "L;F;L;F..." : an even number of ';'-separated numbers (none is allowed).
    std::size_t step_count = 0;
    bool more = !steps.empty();
    while (more) {
      std::string_view threshold, factor;
      if (!split_once(steps, ';', threshold, steps))
        fail(line_number, "LoadMap entry " + quoted(field) + " has a load without a factor");
      more = split_once(steps, ';', factor, steps);
      if (!more) factor = steps;
      if (step_count == entry.steps.size()) entry.steps.emplace_back();
      auto& step = entry.steps[step_count++];
      parse_number(threshold, line_number, "load threshold", step.threshold);
      parse_number(factor, line_number, "load factor", step.factor);
    }
    entry.steps.resize(step_count);
  }
  out.loads.resize(load_count);
}

void append_trace_line(const TraceSession& session, std::string& out) {
  const auto size_before = out.size();
  try {
    append_line_impl(session, out);
  } catch (...) {
    out.resize(size_before);
    throw;
  }
}

namespace {
void append_line_impl(const TraceSession& session, std::string& out) {
  if (session.features.empty()) throw InvalidInput("trace writer: session has no features");
  if (session.decisions.empty()) throw InvalidInput("trace writer: session has no decisions");
  std::int64_t time = 0;
  const auto& time_text = session.features[0];
  auto [ptr, ec] = std::from_chars(time_text.data(), time_text.data() + time_text.size(), time);
  if (time_text.empty() || ec != std::errc() || ptr != time_text.data() + time_text.size() ||
      time != session.time_ms || time < 0)
    throw InvalidInput("trace writer: time text " + quoted(time_text) + " does not match time " +
                       std::to_string(session.time_ms));
  for (const auto& feature : session.features) {
    check_text(feature, "feature value", "");
    out += feature;
    out += '\t';
  }
  out += kDecisionMap;
  for (std::size_t i = 0; i < session.decisions.size(); ++i) {
    const auto& entry = session.decisions[i];
    if (entry.decision.empty()) throw InvalidInput("trace writer: empty decision name");
    check_text(entry.decision, "decision", ",");
    for (std::size_t j = 0; j < i; ++j)
      if (session.decisions[j].decision == entry.decision)
        throw InvalidInput("trace writer: duplicate decision " + quoted(entry.decision));
    check_number(entry.cost, "cost");
    out += '\t';
    out += entry.decision;
    out += ',';
    out += entry.cost.text;
  }
  out += '\t';
  out += kLoadMap;
  for (std::size_t i = 0; i < session.loads.size(); ++i) {
    const auto& entry = session.loads[i];
    bool known = false;
    for (const auto& d : session.decisions) known |= d.decision == entry.decision;
    if (!known)
      throw InvalidInput("trace writer: LoadMap decision " + quoted(entry.decision) +
                         " is not in DecisionMap");
    for (std::size_t j = 0; j < i; ++j)
      if (session.loads[j].decision == entry.decision)
        throw InvalidInput("trace writer: duplicate LoadMap decision " + quoted(entry.decision));
    out += '\t';
    out += entry.decision;
    out += ',';
    for (std::size_t s = 0; s < entry.steps.size(); ++s) {
      check_number(entry.steps[s].threshold, "load threshold");
      check_number(entry.steps[s].factor, "load factor");
      if (s > 0) out += ';';
      out += entry.steps[s].threshold.text;
      out += ';';
      out += entry.steps[s].factor.text;
    }
  }
  out += '\n';
}
}  // namespace

TraceTextReader::TraceTextReader(std::istream& in, std::size_t expected_features)
    : in_(in), expected_features_(expected_features) {}

bool TraceTextReader::next(TraceSession& out) {
  if (!std::getline(in_, line_)) {
    if (in_.bad()) fail(line_number_ + 1, "read error");
    return false;
  }
  ++line_number_;
  parse_trace_line(line_, line_number_, expected_features_, out);
  if (expected_features_ == 0) expected_features_ = out.features.size();
  if (out.time_ms < last_time_ms_)
    fail(line_number_, "time " + std::to_string(out.time_ms) + " is earlier than the previous " +
                           std::to_string(last_time_ms_) + " (a trace is sorted by time)");
  last_time_ms_ = out.time_ms;
  return true;
}

TraceTextWriter::~TraceTextWriter() {
  try {
    flush();
  } catch (...) {
    // A destructor cannot report; callers who care call flush() themselves.
  }
}

void TraceTextWriter::write(const TraceSession& session) {
  if (session.time_ms < last_time_ms_)
    throw InvalidInput("trace writer: time " + std::to_string(session.time_ms) +
                       " is earlier than the previous " + std::to_string(last_time_ms_));
  const auto size_before = buffer_.size();
  try {
    append_trace_line(session, buffer_);
  } catch (...) {
    buffer_.resize(size_before);
    throw;
  }
  last_time_ms_ = session.time_ms;
  if (buffer_.size() >= 64 * 1024) flush();
}

void TraceTextWriter::flush() {
  if (buffer_.empty()) return;
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
  if (!out_) throw std::runtime_error("trace writer: write failed");
}

}  // namespace pytheas
