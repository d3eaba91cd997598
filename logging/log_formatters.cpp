#include "logging/log_formatters.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <iterator>
#include <string_view>

#include "logging/log_fields.hpp"

namespace pytheas {

namespace {

// Appends an ISO 8601 UTC timestamp with `digits` fractional digits (3 or 6).
void append_timestamp(spdlog::log_clock::time_point time, int digits, spdlog::memory_buf_t& dest) {
  using namespace std::chrono;
  const auto since_epoch = time.time_since_epoch();
  const auto whole = duration_cast<seconds>(since_epoch);
  const auto micros = duration_cast<microseconds>(since_epoch - whole).count();
  const std::time_t t = static_cast<std::time_t>(whole.count());
  std::tm utc{};
  gmtime_r(&t, &utc);
  auto out = std::back_inserter(dest);
  fmt::format_to(out, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", utc.tm_year + 1900, utc.tm_mon + 1,
                 utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  if (digits == 3)
    fmt::format_to(out, "{:03}Z", micros / 1000);
  else
    fmt::format_to(out, "{:06}Z", micros);
}

// Appends `text` as a JSON string (quotes included).
void append_json_string(std::string_view text, spdlog::memory_buf_t& dest) {
  static constexpr char kHex[] = "0123456789abcdef";
  dest.push_back('"');
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        dest.append(std::string_view("\\\""));
        break;
      case '\\':
        dest.append(std::string_view("\\\\"));
        break;
      case '\n':
        dest.append(std::string_view("\\n"));
        break;
      case '\r':
        dest.append(std::string_view("\\r"));
        break;
      case '\t':
        dest.append(std::string_view("\\t"));
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          const char escape[] = {'\\', 'u', '0', '0', kHex[byte >> 4], kHex[byte & 15]};
          dest.append(std::string_view(escape, sizeof escape));
        } else {
          dest.push_back(c);
        }
    }
  }
  dest.push_back('"');
}

void append_json_number(double value, spdlog::memory_buf_t& dest) {
  if (std::isfinite(value))
    fmt::format_to(std::back_inserter(dest), "{}", value);
  else
    dest.append(std::string_view("null"));
}

std::string_view level_name(spdlog::level::level_enum level) {
  const auto& name = spdlog::level::to_string_view(level);
  return std::string_view(name.data(), name.size());
}

// Calls visit(name, string_view) / visit(name, double) for each field set.
template <typename Visitor>
void for_each_field(const LogFields& fields, Visitor&& visit) {
  if (!fields.event_id.empty()) visit("event_id", fields.event_id);
  if (!fields.group.empty()) visit("group", fields.group);
  if (!fields.decision.empty()) visit("decision", fields.decision);
  if (fields.propensity) visit("propensity", *fields.propensity);
  if (!fields.policy.empty()) visit("policy", fields.policy);
  if (fields.score) visit("score", *fields.score);
  if (!fields.outcome.empty()) visit("outcome", fields.outcome);
}

struct JsonFieldWriter {
  spdlog::memory_buf_t& dest;
  void operator()(std::string_view name, std::string_view value) const {
    dest.push_back(',');
    append_json_string(name, dest);
    dest.push_back(':');
    append_json_string(value, dest);
  }
  void operator()(std::string_view name, double value) const {
    dest.push_back(',');
    append_json_string(name, dest);
    dest.push_back(':');
    append_json_number(value, dest);
  }
};

struct TextFieldWriter {
  spdlog::memory_buf_t& dest;
  void operator()(std::string_view name, std::string_view value) const {
    fmt::format_to(std::back_inserter(dest), " {}={}", name, value);
  }
  void operator()(std::string_view name, double value) const {
    fmt::format_to(std::back_inserter(dest), " {}={}", name, value);
  }
};

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  dest.append(std::string_view("{\"ts\":\""));
  append_timestamp(msg.time, 6, dest);
  dest.append(std::string_view("\",\"level\":"));
  append_json_string(level_name(msg.level), dest);
  dest.append(std::string_view(",\"msg\":"));
  append_json_string(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  if (const LogFields* fields = current_log_fields())
    for_each_field(*fields, JsonFieldWriter{dest});
  dest.append(std::string_view("}\n"));
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

void TextLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  append_timestamp(msg.time, 3, dest);
  fmt::format_to(std::back_inserter(dest), " {:<5} ", level_name(msg.level));
  dest.append(std::string_view(msg.payload.data(), msg.payload.size()));
  if (const LogFields* fields = current_log_fields())
    for_each_field(*fields, TextFieldWriter{dest});
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> TextLogFormatter::clone() const {
  return std::make_unique<TextLogFormatter>();
}

}  // namespace pytheas
