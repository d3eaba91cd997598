#pragma once
// The node's HTTP API: routes requests to the DecisionService. See
// docs/API.md for every route, its bodies and its error codes.

#include <memory>

#include "http/handler.hpp"

namespace pytheas {
class DecisionService;
}

namespace pytheas::http {

/// The handler for a node's routes. `service` must outlive the handler.
std::shared_ptr<Handler> make_api_handler(DecisionService& service);

}  // namespace pytheas::http
