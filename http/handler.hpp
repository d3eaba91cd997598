#pragma once
// Handler: turns one parsed HTTP request into one response. Implementations are
// called concurrently from every io thread and must not block.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace pytheas::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

class Metrics;  // http/metrics.hpp

/// What the server knows about a request beyond its bytes.
struct RequestContext {
  bool peer_is_loopback = false;  ///< the client connected from 127.0.0.0/8 or ::1
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual Response handle(Request& request) = 0;

  /// What the server calls. Handlers that care who is asking (admin routes)
  /// override it; the default ignores the context.
  virtual Response handle(Request& request, const RequestContext& context) {
    (void)context;
    return handle(request);
  }

  /// Where the server counts connections and requests it rejects before they
  /// reach handle() (limits, malformed HTTP); null = not counted.
  virtual Metrics* metrics() { return nullptr; }
};

}  // namespace pytheas::http
