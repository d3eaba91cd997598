#pragma once
// ReplayTarget: one node `pytheas replay` plays against, parsed from a URL of
// the form http://HOST[:PORT][/PREFIX] (HOST a name, an IPv4 address or a
// bracketed IPv6 address; PORT defaults to 80). Requests go to PREFIX + the
// route (/v1/decide, /player.php, ...). https is not supported: the tool
// measures nodes on a trusted network, usually loopback.
// Plain value type; thread-compatible.

#include <cstdint>
#include <string>
#include <string_view>

namespace pytheas::sim {

struct ReplayTarget {
  std::string url;   ///< as given
  std::string host;  ///< without brackets
  std::uint16_t port = 80;
  std::string prefix;  ///< path prefix without a trailing '/', usually empty

  /// Throws InvalidInput naming the URL and what is wrong with it.
  static ReplayTarget parse(std::string_view url);

  /// The Host header value ("127.0.0.1:8080", "[::1]:8080").
  std::string host_header() const;
};

/// True when `address` (a numeric IPv4 or IPv6 address) is loopback:
/// 127.0.0.0/8, ::1, or an IPv4-mapped 127.x address. False for names and
/// for anything that does not parse as an address.
bool is_loopback_address(std::string_view address);

}  // namespace pytheas::sim
