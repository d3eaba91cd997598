#include "simulation/replay_target.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>

#include "core/errors.hpp"

namespace pytheas::sim {

ReplayTarget ReplayTarget::parse(std::string_view url) {
  auto fail = [&](const std::string& why) {
    return InvalidInput("--url '" + std::string(url) + "': " + why);
  };
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme)
    throw fail(url.starts_with("https://") ? "https is not supported (use http://)"
                                           : "expected http://HOST[:PORT][/PREFIX]");
  ReplayTarget target;
  target.url = std::string(url);
  auto rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto prefix = rest.substr(slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (prefix.find_first_of("?# ") != std::string_view::npos)
      throw fail("the path may not have a query, fragment or space");
    target.prefix = std::string(prefix);
  }
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw fail("unterminated '[' in the host");
    target.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw fail("expected ':PORT' after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) throw fail("empty port");
    }
  } else {
    const auto colon = authority.find(':');
    target.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) throw fail("empty port");
    }
  }
  if (target.host.empty()) throw fail("no host");
  if (target.host.find('@') != std::string::npos) throw fail("user info is not supported");
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (error != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535)
      throw fail("port must be 1..65535, got '" + std::string(port_text) + "'");
    target.port = static_cast<std::uint16_t>(value);
  }
  return target;
}

std::string ReplayTarget::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool is_loopback_address(std::string_view address) {
  boost::system::error_code error;
  auto parsed = boost::asio::ip::make_address(std::string(address), error);
  if (error) return false;
  if (parsed.is_v6() && parsed.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, parsed.to_v6())
        .is_loopback();
  return parsed.is_loopback();
}

}  // namespace pytheas::sim
