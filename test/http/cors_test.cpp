// CORS on the player routes, against real node processes: what a browser on
// another origin sends (a preflight OPTIONS, then the POST with Origin) and
// what it needs back, for each --cors-origin setting; the admin routes never
// grant; the beacon's text/plain body is accepted.

#include <catch2/catch.hpp>
#include <string>

#include "http/cors.hpp"
#include "test/http/http_test_util.hpp"
#include "test/support/process.hpp"

using namespace pytheas::test;

namespace {

const std::string kPage = "http://127.0.0.1:8000";  // the player page's origin
const std::string kOther = "https://elsewhere.example";
const char* kPlayerRoutes[] = {"/v1/decide", "/v1/report", "/player.php"};

HttpReply preflight(HttpClient& client, const std::string& target, const std::string& origin,
                    const std::string& method = "POST") {
  return client.request("OPTIONS", target, "", "",
                        {{"Origin", origin},
                         {"Access-Control-Request-Method", method},
                         {"Access-Control-Request-Headers", "content-type"}});
}

HttpReply post_from(HttpClient& client, const std::string& target, const std::string& body,
                    const std::string& origin,
                    const std::string& content_type = "application/json") {
  return client.request("POST", target, body, content_type, {{"Origin", origin}});
}

std::string header(const HttpReply& reply, const std::string& name) {
  const auto it = reply.headers.find(name);
  return it == reply.headers.end() ? "<none>" : it->second;
}

// A granted preflight: 204, every header a browser checks, no body.
void check_granted_preflight(const HttpReply& reply, const std::string& origin) {
  INFO(reply.body);
  CHECK(reply.status == 204);
  CHECK(header(reply, "access-control-allow-origin") == origin);
  CHECK(header(reply, "access-control-allow-methods") == "POST");
  CHECK(header(reply, "access-control-allow-headers") == "content-type");
  CHECK(header(reply, "access-control-max-age") == "600");
  CHECK(header(reply, "vary") == "Origin");
  CHECK(reply.body.empty());
}

const std::string kLegacyRequest =
    "method=request&payload=1%092%093%094%09AS1%09c%09US%09w%09s%09o%09vod%09obj%09html5%091%09"
    "cdn-a%09cdn-a%09cdn-b";

}  // namespace

TEST_CASE(
    "without a CORS setting the JSON player routes grant no origin and player.php keeps the "
    "wildcard",
    "[http][cors]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  for (const char* route : {"/v1/decide", "/v1/report"}) {
    INFO(route);
    auto refused = preflight(client, route, kPage);
    CHECK(refused.status == 403);
    CHECK(error_code(refused) == "origin_not_allowed");
    CHECK(refused.body.find("--cors-origin " + kPage) != std::string::npos);
    CHECK(header(refused, "access-control-allow-origin") == "<none>");
  }
  auto decided = post_from(client, "/v1/decide", kDecideBody, kPage);
  CHECK(decided.status == 200);
  CHECK(header(decided, "access-control-allow-origin") == "<none>");

  // The original player.php answered every origin: so does ours by default.
  auto legacy =
      post_from(client, "/player.php", kLegacyRequest, kOther, "application/x-www-form-urlencoded");
  CHECK(legacy.status == 200);
  CHECK(header(legacy, "access-control-allow-origin") == "*");
  check_granted_preflight(preflight(client, "/player.php", kOther), kOther);
}

TEST_CASE("the listed CORS origins are granted on every player route and no other origin is",
          "[http][cors]") {
  auto node = start_node(PYTHEAS_BINARY, {"--cors-origin", kPage, "--cors-origin", kOther});
  HttpClient client("127.0.0.1", node.port);
  const std::string stranger = "http://127.0.0.1:9999";
  for (const char* route : kPlayerRoutes) {
    INFO(route);
    check_granted_preflight(preflight(client, route, kPage), kPage);
    check_granted_preflight(preflight(client, route, kOther), kOther);
    auto refused = preflight(client, route, stranger);
    CHECK(refused.status == 403);
    CHECK(error_code(refused) == "origin_not_allowed");
    CHECK(header(refused, "access-control-allow-origin") == "<none>");
    auto wrong_method = preflight(client, route, kPage, "DELETE");
    CHECK(wrong_method.status == 403);
    CHECK(error_code(wrong_method) == "cors_method_not_allowed");
    CHECK(header(wrong_method, "access-control-allow-origin") == "<none>");
  }

  // The actual requests: the grant names the caller's origin, and Vary says
  // the answer depends on it (also for a refused origin, so caches keep apart).
  auto decided = post_from(client, "/v1/decide", kDecideBody, kPage);
  REQUIRE(decided.status == 200);
  CHECK(header(decided, "access-control-allow-origin") == kPage);
  CHECK(header(decided, "vary") == "Origin");
  Json json(decided.body);
  const auto event_id = json.str("/event_id");
  auto reported =
      post_from(client, "/v1/report", R"({"event_id":")" + event_id + R"(","score":2})", kOther);
  CHECK(reported.status == 202);
  CHECK(header(reported, "access-control-allow-origin") == kOther);
  // Errors carry the grant too: the page can read why it was refused.
  auto duplicate =
      post_from(client, "/v1/report", R"({"event_id":")" + event_id + R"(","score":2})", kPage);
  CHECK(duplicate.status == 409);
  CHECK(header(duplicate, "access-control-allow-origin") == kPage);

  auto foreign = post_from(client, "/v1/decide", kDecideBody, stranger);
  CHECK(foreign.status == 200);  // served (no browser enforces anything here) ...
  CHECK(header(foreign, "access-control-allow-origin") == "<none>");  // ... but not granted
  CHECK(header(foreign, "vary") == "Origin");

  // Configured origins replace player.php's default "*".
  auto legacy =
      post_from(client, "/player.php", kLegacyRequest, kPage, "application/x-www-form-urlencoded");
  CHECK(legacy.status == 200);
  CHECK(header(legacy, "access-control-allow-origin") == kPage);
  auto legacy_foreign = post_from(client, "/player.php", kLegacyRequest, stranger,
                                  "application/x-www-form-urlencoded");
  CHECK(header(legacy_foreign, "access-control-allow-origin") == "<none>");
}

TEST_CASE("a wildcard CORS setting grants any origin", "[http][cors]") {
  auto node = start_node(PYTHEAS_BINARY, {"--cors-origin", "*"});
  HttpClient client("127.0.0.1", node.port);
  for (const char* route : kPlayerRoutes) {
    INFO(route);
    check_granted_preflight(preflight(client, route, kOther), kOther);
  }
  auto decided = post_from(client, "/v1/decide", kDecideBody, kOther);
  CHECK(decided.status == 200);
  CHECK(header(decided, "access-control-allow-origin") == "*");
}

TEST_CASE("admin routes never grant CORS whatever the CORS setting says", "[http][cors][admin]") {
  auto node = start_node(PYTHEAS_BINARY, {"--cors-origin", "*", "--cors-origin", kPage});
  HttpClient client("127.0.0.1", node.port);
  REQUIRE(client.post("/v1/decide", kDecideBody).status == 200);
  for (const char* target : {"/v1/groups", "/v1/groups/Asn%3D7922", "/v1/stats", "/v1/cluster",
                             "/v1/grouping", "/", "/dashboard/dashboard.js", "/metrics"}) {
    INFO(target);
    auto reply = client.request("GET", target, "", "", {{"Origin", kPage}});
    CHECK(reply.status != 0);
    CHECK(header(reply, "access-control-allow-origin") == "<none>");
    auto refused = preflight(client, target, kPage, "GET");
    CHECK(refused.status == 405);
    CHECK(header(refused, "access-control-allow-origin") == "<none>");
  }
}

TEST_CASE("a beacon's text/plain JSON body is a report like any other", "[http][cors]") {
  // navigator.sendBeacon(url, string) sends Content-Type: text/plain;charset=UTF-8
  // (a CORS-safelisted type: no preflight while the page unloads).
  auto node = start_node(PYTHEAS_BINARY, {"--cors-origin", kPage});
  HttpClient client("127.0.0.1", node.port);
  auto decided = client.post("/v1/decide", kDecideBody);
  REQUIRE(decided.status == 200);
  Json json(decided.body);
  auto beacon = post_from(client, "/v1/report",
                          R"({"event_id":")" + json.str("/event_id") + R"(","score":3.5})", kPage,
                          "text/plain;charset=UTF-8");
  CHECK(beacon.status == 202);
  CHECK(header(beacon, "access-control-allow-origin") == kPage);
  auto by_features =
      post_from(client, "/v1/report", R"({"features":{"Asn":"7922"},"decision":"cdn-a","score":1})",
                kPage, "text/plain;charset=UTF-8");
  CHECK(by_features.status == 202);
  CHECK(
      eventually([&] { return Json(client.get("/v1/stats").body).num("/reports_applied") == 2; }));
}

TEST_CASE("a plain OPTIONS on a player route lists its methods", "[http][cors]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  for (const char* route : kPlayerRoutes) {
    INFO(route);
    auto reply = client.request("OPTIONS", route, "", "");
    CHECK(reply.status == 204);
    CHECK(header(reply, "allow") == "POST, OPTIONS");
    // Without --cors-origin only player.php grants (its default "*").
    CHECK(header(reply, "access-control-allow-origin") ==
          (std::string(route) == "/player.php" ? "*" : "<none>"));
  }
}

TEST_CASE("a CORS policy refuses origins a browser never sends", "[http][cors]") {
  using pytheas::http::CorsPolicy;
  CHECK_THROWS_WITH(CorsPolicy({"https://video.example/"}),
                    Catch::Contains("--cors-origin: 'https://video.example/'"));
  CHECK_THROWS_AS(CorsPolicy({"video.example"}), std::invalid_argument);
  CHECK(CorsPolicy().allows_none());
  CHECK(CorsPolicy({"*", "https://a.example"}).allows_any());
  // Duplicates collapse.
  CHECK(CorsPolicy({"https://a.example", "https://a.example"}).origins().size() == 1);
}
