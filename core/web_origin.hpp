#pragma once
// Web origins as a browser serializes them in its `Origin` header (RFC 6454):
// "scheme://host[:port]" with a lower-case http or https scheme and host, no
// path and no trailing slash. The node's CORS settings (`--cors-origin`, the
// cluster file's `cors_origins`) name origins this way, and a browser's header
// matches one only byte for byte, so both the CLI and the config loader check
// a setting here first and say what is wrong instead of never matching.
// Pure functions; thread-safe.

#include <string>
#include <string_view>

namespace pytheas {

/// Empty when `text` is "*" (any origin) or a serialized web origin; else
/// what is wrong with it, in words an operator can act on.
std::string web_origin_problem(std::string_view text);

}  // namespace pytheas
