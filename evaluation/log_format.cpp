#include "evaluation/log_format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace pytheas::evaluation {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_u_escape(std::string& out, unsigned char byte) {
  out.append("\\u00");
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 15]);
}

// Length of the valid UTF-8 sequence starting at text[i] (2..4), or 0 when
// the bytes there are not one (a stray continuation byte, an overlong form,
// a surrogate, a code point above U+10FFFF, a cut-off sequence).
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return length;
}

void append_string_array(std::string& out, std::span<const std::string_view> values) {
  out.push_back('[');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, values[i]);
  }
  out.push_back(']');
}

}  // namespace

const char* to_string(ReportJoin join) {
  switch (join) {
    case ReportJoin::event_id:
      return "event_id";
    case ReportJoin::inferred:
      return "inferred";
    case ReportJoin::unmatched:
      return "unmatched";
  }
  return "unmatched";
}

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\t':
          out.append("\\t");
          break;
        case '\r':
          out.append("\\r");
          break;
        default:
          if (c < 0x20 || c == 0x7F)
            append_u_escape(out, c);
          else
            out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    if (const std::size_t length = utf8_sequence(text, i)) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      append_u_escape(out, c);  // not UTF-8: its Latin-1 reading
      ++i;
    }
  }
  out.push_back('"');
}

void append_json_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out.append("null");
    return;
  }
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void append_json_time(std::string& out, double seconds) {
  if (!std::isfinite(seconds)) {
    out.append("null");
    return;
  }
  char buffer[48];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, seconds, std::chars_format::fixed, 6);
  out.append(buffer, result.ptr);
}

void append_header_line(std::string& out, std::span<const std::string> features,
                        std::string_view node, double opened_at) {
  out.append("{\"type\":\"header\",\"format\":");
  append_json_string(out, kLogFormatName);
  out.append(",\"version\":");
  out.append(std::to_string(kLogFormatVersion));
  out.append(",\"features\":[");
  for (std::size_t i = 0; i < features.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, features[i]);
  }
  out.append("],\"node\":");
  append_json_string(out, node);
  out.append(",\"opened_at\":");
  append_json_time(out, opened_at);
  out.append("}\n");
}

void append_decision_line(std::string& out, const DecisionLine& line) {
  out.append("{\"type\":\"decision\",\"time\":");
  append_json_time(out, line.time);
  out.append(",\"event_id\":");
  append_json_string(out, line.event_id);
  out.append(line.issued ? ",\"issued\":true" : ",\"issued\":false");
  out.append(",\"group\":");
  append_json_string(out, line.group);
  out.append(",\"features\":");
  append_string_array(out, line.features);
  out.append(",\"candidates\":");
  append_string_array(out, line.candidates);
  out.append(",\"decision\":");
  append_json_string(out, line.chosen < line.candidates.size() ? line.candidates[line.chosen]
                                                               : std::string_view());
  out.append(",\"propensity\":");
  append_json_number(out, line.propensity);
  out.append(",\"policy\":");
  append_json_string(out, line.policy);
  out.append(",\"policy_version\":");
  out.append(std::to_string(line.policy_version));
  out.append("}\n");
}

void append_report_line(std::string& out, const ReportLine& line) {
  out.append("{\"type\":\"report\",\"time\":");
  append_json_time(out, line.time);
  if (line.join != ReportJoin::unmatched) {
    out.append(",\"event_id\":");
    append_json_string(out, line.event_id);
  }
  out.append(",\"score\":");
  append_json_number(out, line.score);
  if (line.delay >= 0) {
    out.append(",\"delay\":");
    append_json_time(out, line.delay);
  }
  out.append(",\"join\":\"");
  out.append(to_string(line.join));
  out.push_back('"');
  if (line.join == ReportJoin::unmatched) {
    out.append(",\"features\":");
    append_string_array(out, line.features);
    out.append(",\"decision\":");
    append_json_string(out, line.decision);
  }
  out.append("}\n");
}

std::string log_file_name(double unix_seconds, std::uint64_t sequence) {
  const auto whole = static_cast<std::time_t>(std::floor(unix_seconds));
  const auto millis = static_cast<int>((unix_seconds - static_cast<double>(whole)) * 1000.0);
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &utc);
  char name[96];
  std::snprintf(name, sizeof name, "%s%s.%03dZ-%06llu%s", kLogFilePrefix.data(), stamp,
                std::min(999, std::max(0, millis)), static_cast<unsigned long long>(sequence),
                kLogFileSuffix.data());
  return name;
}

bool is_log_file_name(std::string_view name) {
  return name.size() > kLogFilePrefix.size() + kLogFileSuffix.size() &&
         name.starts_with(kLogFilePrefix) && name.ends_with(kLogFileSuffix);
}

}  // namespace pytheas::evaluation
