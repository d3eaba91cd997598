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
  /// Admin routes (/v1/groups*, /v1/stats, /v1/cluster, /v1/grouping, the
  /// dashboard): when set, they need `Authorization: Bearer <admin_token>`
  /// from everyone (401 otherwise). When empty, they are granted only to a
  /// loopback peer of a node that listens on loopback only, and never to a
  /// request that carries a proxy's header (Forwarded, X-Forwarded-For,
  /// X-Forwarded-Host, X-Real-IP, Via): a proxy on the same host would make
  /// every remote client a loopback peer (403 otherwise).
  std::string admin_token;
  /// The node listens on a loopback address only (is_loopback_host).
  bool listens_on_loopback = true;
  /// Browser origins allowed on the player routes (/v1/decide, /v1/report,
  /// /player.php). When it allows none, /player.php keeps the original's
  /// `Access-Control-Allow-Origin: *` and the JSON routes grant nothing.
  /// Admin routes never grant CORS.
  CorsPolicy player_cors;
};

/// The handler for a node's routes. `service` must outlive the handler.
std::shared_ptr<Handler> make_api_handler(DecisionService& service, ApiOptions options = {});

}  // namespace pytheas::http
