#include "simulation/replay_protocol.hpp"

#include <simdjson.h>

#include <charconv>

#include "core/errors.hpp"

namespace pytheas::sim {
namespace {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

// application/x-www-form-urlencoded value: unreserved bytes as they are.
void append_form_value(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
}

void check_legacy_value(std::string_view value) {
  if (value.find_first_of("\t\n") != std::string_view::npos)
    throw InvalidInput("a tab or newline in '" + std::string(value) +
                       "' cannot be sent in the legacy protocol");
}

}  // namespace

std::string replay_number_text(double value) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (error != std::errc()) return "0";
  return std::string(buffer, end);
}

ReplayProtocol::ReplayProtocol(ReplayProtocolKind kind, FeatureSchema schema)
    : kind_(kind), schema_(std::move(schema)) {
  if (kind_ == ReplayProtocolKind::legacy && schema_.size() != FeatureSchema::original().size())
    throw InvalidInput("the legacy protocol sends the original 15 features; this schema has " +
                       std::to_string(schema_.size()));
}

ReplayRequest ReplayProtocol::decide_request(const TraceSession& session) const {
  if (session.features.size() != schema_.size())
    throw InvalidInput("a trace session has " + std::to_string(session.features.size()) +
                       " features; the replay schema has " + std::to_string(schema_.size()));
  ReplayRequest request;
  if (kind_ == ReplayProtocolKind::json) {
    request.path = "/v1/decide";
    request.content_type = "application/json";
    auto& body = request.body;
    body.reserve(512);
    body += "{\"features\":{";
    for (std::size_t i = 0; i < session.features.size(); ++i) {
      if (i > 0) body += ',';
      append_json_string(body, schema_.name(i));
      body += ':';
      append_json_string(body, session.features[i]);
    }
    body += "},\"candidates\":[";
    for (std::size_t i = 0; i < session.decisions.size(); ++i) {
      if (i > 0) body += ',';
      append_json_string(body, session.decisions[i].decision);
    }
    body += "]}";
    return request;
  }
  request.path = "/player.php";
  request.content_type = "application/x-www-form-urlencoded";
  std::string payload;
  for (const auto& value : session.features) {
    check_legacy_value(value);
    payload += value;
    payload += '\t';
  }
  for (std::size_t i = 0; i < session.decisions.size(); ++i) {
    if (i > 0) payload += '\t';
    payload += session.decisions[i].decision;
  }
  request.body = "method=request&payload=";
  append_form_value(request.body, payload);
  return request;
}

ReplayRequest ReplayProtocol::report_request(const TraceSession& session,
                                             const ReplayDecision& decision, double cost) const {
  ReplayRequest request;
  if (kind_ == ReplayProtocolKind::json) {
    request.path = "/v1/report";
    request.content_type = "application/json";
    request.body = "{\"event_id\":";
    append_json_string(request.body, decision.event_id);
    request.body += ",\"score\":" + replay_number_text(-cost) + "}";
    return request;
  }
  request.path = "/player.php";
  request.content_type = "application/x-www-form-urlencoded";
  std::string payload;
  for (const auto& value : session.features) {
    payload += value;
    payload += '\t';
  }
  payload += decision.decision;
  payload += '\t';
  payload += replay_number_text(cost);
  request.body = "method=update&payload=";
  append_form_value(request.body, payload);
  return request;
}

std::optional<ReplayDecision> ReplayProtocol::parse_decide(unsigned status, std::string_view body,
                                                           const TraceSession& session,
                                                           std::string& why) const {
  if (status != 200) {
    why = "http_" + std::to_string(status);
    return std::nullopt;
  }
  ReplayDecision result;
  if (kind_ == ReplayProtocolKind::json) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(body);
    simdjson::dom::element root;
    std::string_view decision, event_id;
    if (parser.parse(padded).get(root) || root["decision"].get(decision) ||
        root["event_id"].get(event_id) || event_id.empty()) {
      why = "bad_response";
      return std::nullopt;
    }
    result.decision = std::string(decision);
    result.event_id = std::string(event_id);
  } else {
    result.decision = std::string(body);
  }
  for (const auto& candidate : session.decisions)
    if (candidate.decision == result.decision) return result;
  why = "bad_response";
  return std::nullopt;
}

}  // namespace pytheas::sim
