#pragma once
// Error responses: every error the HTTP API sends has the body
// {"error":{"code":"<machine code>","message":"<human text>"}} and a JSON
// content type (docs/API.md lists the codes). Header-only, stateless.

#include <string>
#include <string_view>

#include "http/handler.hpp"
#include "http/json_writer.hpp"

namespace pytheas::http {

/// The JSON error body for `code` and `message` (both escaped).
inline std::string error_body(std::string_view code, std::string_view message) {
  JsonWriter out;
  out.raw("{\"error\":{\"code\":");
  out.string(code);
  out.raw(",\"message\":");
  out.string(message);
  out.raw("}}\n");
  return out.take();
}

/// A complete error response; the caller may add headers (Allow, Retry-After).
inline Response error_response(unsigned status, unsigned version, std::string_view code,
                               std::string_view message) {
  Response response{static_cast<boost::beast::http::status>(status), version};
  response.set(boost::beast::http::field::content_type, "application/json");
  response.body() = error_body(code, message);
  return response;
}

}  // namespace pytheas::http
