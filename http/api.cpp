#include "http/api.hpp"

#include <boost/beast/http.hpp>

#include "actors/decision_service.hpp"

namespace pytheas::http {

namespace bhttp = boost::beast::http;

namespace {

Response text_response(const Request& request, bhttp::status status, std::string body) {
  Response response{status, request.version()};
  response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  response.body() = std::move(body);
  return response;
}

class ApiHandler final : public Handler {
 public:
  explicit ApiHandler(DecisionService& service) : service_(service) {}

  Response handle(Request& request) override {
    const auto target = request.target();
    if (target == "/livez") return text_response(request, bhttp::status::ok, "ok\n");
    if (target == "/readyz") {
      return service_.ready() ? text_response(request, bhttp::status::ok, "ready\n")
                              : text_response(request, bhttp::status::service_unavailable,
                                              "restoring state\n");
    }
    return text_response(request, bhttp::status::not_found, "not found\n");
  }

 private:
  DecisionService& service_;
};

}  // namespace

std::shared_ptr<Handler> make_api_handler(DecisionService& service) {
  return std::make_shared<ApiHandler>(service);
}

}  // namespace pytheas::http
