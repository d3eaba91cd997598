#include "http/cors.hpp"

#include <algorithm>
#include <boost/beast/http.hpp>
#include <stdexcept>

#include "core/web_origin.hpp"
#include "http/errors.hpp"

namespace pytheas::http {

namespace bhttp = boost::beast::http;

namespace {

// How long a browser may reuse a preflight's answer (it caps this itself:
// Chromium at 2 h, Firefox at 24 h). Ten minutes: a changed --cors-origin
// takes effect in browsers within that.
constexpr const char* kMaxAgeSeconds = "600";

std::string_view header(const Request& request, bhttp::field name) {
  const auto value = request[name];
  return {value.data(), value.size()};
}

// Beast 1.74 takes its own string_view.
boost::beast::string_view beast_view(std::string_view text) {
  return {text.data(), text.size()};
}

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> origins) {
  for (auto& origin : origins) {
    if (auto problem = web_origin_problem(origin); !problem.empty())
      throw std::invalid_argument("--cors-origin: " + problem);
    if (origin == "*")
      any_ = true;
    else if (std::find(origins_.begin(), origins_.end(), origin) == origins_.end())
      origins_.push_back(std::move(origin));
  }
}

CorsPolicy CorsPolicy::any() {
  CorsPolicy policy;
  policy.any_ = true;
  return policy;
}

bool CorsPolicy::allowed(std::string_view origin) const {
  if (origin.empty()) return false;
  if (any_) return true;
  return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

bool CorsPolicy::is_preflight(const Request& request) {
  return request.method() == bhttp::verb::options &&
         request.find(bhttp::field::origin) != request.end() &&
         request.find(bhttp::field::access_control_request_method) != request.end();
}

Response CorsPolicy::preflight(const Request& request, std::string_view method) const {
  const auto origin = header(request, bhttp::field::origin);
  const auto requested = header(request, bhttp::field::access_control_request_method);
  if (!allowed(origin)) {
    auto response = error_response(
        403, request.version(), "origin_not_allowed",
        "origin '" + std::string(origin) +
            "' may not call this route from a browser; start the node with --cors-origin " +
            std::string(origin) + " (or cors_origins in the cluster file)");
    response.set(bhttp::field::vary, "Origin");
    return response;
  }
  if (requested != method) {
    auto response = error_response(
        403, request.version(), "cors_method_not_allowed",
        "this route takes " + std::string(method) + ", not " + std::string(requested));
    response.set(bhttp::field::vary, "Origin");
    return response;
  }
  Response response{bhttp::status::no_content, request.version()};
  response.set(bhttp::field::access_control_allow_origin, beast_view(origin));
  response.set(bhttp::field::access_control_allow_methods, beast_view(method));
  response.set(bhttp::field::access_control_allow_headers, "content-type");
  response.set(bhttp::field::access_control_max_age, kMaxAgeSeconds);
  response.set(bhttp::field::vary, "Origin");
  return response;
}

void CorsPolicy::grant(const Request& request, Response& response) const {
  if (any_) {
    response.set(bhttp::field::access_control_allow_origin, "*");
    return;
  }
  if (origins_.empty()) return;
  // The answer depends on Origin whether or not this one is allowed.
  response.set(bhttp::field::vary, "Origin");
  const auto origin = header(request, bhttp::field::origin);
  if (allowed(origin)) response.set(bhttp::field::access_control_allow_origin, beast_view(origin));
}

}  // namespace pytheas::http
