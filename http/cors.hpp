#pragma once
// CorsPolicy: which web origins may call a route from a browser page, and the
// headers that tell the browser so (the Fetch standard's CORS protocol).
//   - A preflight (OPTIONS with Origin and Access-Control-Request-Method) from
//     an allowed origin for an allowed method gets 204 with
//     Access-Control-Allow-Origin (the request's origin), -Allow-Methods,
//     -Allow-Headers: content-type, -Max-Age and Vary: Origin; any other
//     preflight gets 403 with a JSON error saying why, and no grant.
//   - An actual response to an allowed origin carries the grant: "*" when any
//     origin is allowed, else the request's origin plus Vary: Origin (so a
//     cache never serves one origin's grant to another). A disallowed origin
//     gets no grant, and the browser hides the response from the page.
// The node gives one policy to its player routes (/v1/decide, /v1/report,
// /player.php); admin routes never consult one (http/api.cpp).
// Immutable after construction: share it between io threads.

#include <string>
#include <string_view>
#include <vector>

#include "http/handler.hpp"

namespace pytheas::http {

class CorsPolicy {
 public:
  /// Allows no origin: browsers on other origins cannot read any response.
  CorsPolicy() = default;

  /// Allows exactly these origins ("scheme://host[:port]", or "*" for any).
  /// Throws std::invalid_argument naming a malformed one (core/web_origin.hpp).
  explicit CorsPolicy(std::vector<std::string> origins);

  /// Allows any origin ("*"): the original player.php's behaviour.
  static CorsPolicy any();

  bool allows_none() const { return !any_ && origins_.empty(); }
  bool allows_any() const { return any_; }
  const std::vector<std::string>& origins() const { return origins_; }

  /// True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.
  static bool is_preflight(const Request& request);

  /// The answer to a preflight for a route served with `method` (e.g. "POST").
  Response preflight(const Request& request, std::string_view method) const;

  /// Adds the grant to an actual response when the request's Origin is allowed.
  void grant(const Request& request, Response& response) const;

 private:
  bool allowed(std::string_view origin) const;

  bool any_ = false;
  std::vector<std::string> origins_;
};

}  // namespace pytheas::http
