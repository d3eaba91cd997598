#pragma once
// The node's HTTP API: routes requests to the DecisionService. See
// docs/API.md for every route, its bodies and its error codes.

#include <cstddef>
#include <memory>
#include <string>

#include "http/cors.hpp"
#include "http/handler.hpp"

namespace pytheas {
class DecisionService;
}

namespace pytheas::http {

struct ApiOptions {
  std::size_t max_json_depth = 16;       ///< deeper JSON bodies get 400 too_deep
  std::size_t max_candidates = 1024;     ///< more candidates get 400
  std::size_t max_groups_listed = 1000;  ///< default (and cap) of GET /v1/groups?limit=
  /// Admin routes (/v1/groups*): when set, they need `Authorization: Bearer
  /// <admin_token>` (401 otherwise); when empty, only loopback peers (403).
  std::string admin_token;
  /// Browser origins allowed on the player routes (/v1/decide, /v1/report,
  /// /player.php). When it allows none, /player.php keeps the original's
  /// `Access-Control-Allow-Origin: *` and the JSON routes grant nothing.
  /// Admin routes never grant CORS.
  CorsPolicy player_cors;
};

/// The handler for a node's routes. `service` must outlive the handler.
std::shared_ptr<Handler> make_api_handler(DecisionService& service, ApiOptions options = {});

}  // namespace pytheas::http
