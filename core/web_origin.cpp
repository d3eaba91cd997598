#include "core/web_origin.hpp"

namespace pytheas {

namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool is_ipv6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
}

}  // namespace

std::string web_origin_problem(std::string_view text) {
  if (text == "*") return {};
  const std::string quoted = "'" + std::string(text) + "'";
  std::string_view rest;
  if (text.starts_with("http://"))
    rest = text.substr(7);
  else if (text.starts_with("https://"))
    rest = text.substr(8);
  else
    return quoted + " is not a web origin: expected http://HOST[:PORT], https://HOST[:PORT] or *";
  if (rest.empty()) return quoted + " has no host";
  std::string_view host = rest;
  std::string_view port;
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return quoted + ": unclosed '[' in the IPv6 host";
    host = rest.substr(0, close + 1);
    for (char c : rest.substr(1, close - 1))
      if (!is_ipv6_char(c)) return quoted + ": bad character in the IPv6 host (use lower case)";
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return quoted + ": a web origin has no path (no '/' after the host)";
      port = after.substr(1);
      if (port.empty()) return quoted + ": empty port";
    }
  } else {
    const auto colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return quoted + ": empty port";
    }
    if (host.empty()) return quoted + " has no host";
    for (char c : host) {
      if (c == '/' || c == '?' || c == '#')
        return quoted + ": a web origin has no path (no '/' after the host)";
      if (c >= 'A' && c <= 'Z')
        return quoted + ": write the host in lower case, as browsers send it";
      if (!is_host_char(c)) return quoted + ": bad character in the host";
    }
  }
  if (!port.empty()) {
    unsigned value = 0;
    for (char c : port) {
      if (c == '/' || c == '?' || c == '#')
        return quoted + ": a web origin has no path (no '/' after the port)";
      if (c < '0' || c > '9' || port.size() > 5) return quoted + ": the port must be a number";
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return quoted + ": the port must be in 1..65535";
    if (port.front() == '0') return quoted + ": write the port without leading zeros";
    const bool default_port = (text.starts_with("http://") && value == 80) ||
                              (text.starts_with("https://") && value == 443);
    if (default_port)
      return quoted +
             ": browsers leave the scheme's default port out; drop ':" + std::string(port) + "'";
  }
  return {};
}

}  // namespace pytheas
