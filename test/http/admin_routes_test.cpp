// Admin routes (/v1/groups*): only loopback peers, or any peer with the
// --admin-token bearer token. The token path runs against a real node
// process; the non-loopback path through the real handler over an in-process
// Node (tests may only use 127.0.0.1, which is always loopback).

#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>

#include "actors/node/node.hpp"
#include "http/api.hpp"
#include "http/session.hpp"
#include "test/http/http_test_util.hpp"
#include "test/support/process.hpp"

using namespace pytheas::test;
namespace bhttp = boost::beast::http;

TEST_CASE("loopback peers are recognised in every address form", "[http][admin]") {
  using boost::asio::ip::make_address;
  using pytheas::http::is_loopback_peer;
  CHECK(is_loopback_peer(make_address("127.0.0.1")));
  CHECK(is_loopback_peer(make_address("127.8.9.10")));
  CHECK(is_loopback_peer(make_address("::1")));
  CHECK(is_loopback_peer(make_address("::ffff:127.0.0.1")));
  CHECK_FALSE(is_loopback_peer(make_address("10.0.0.1")));
  CHECK_FALSE(is_loopback_peer(make_address("0.0.0.0")));
  CHECK_FALSE(is_loopback_peer(make_address("::ffff:10.0.0.1")));
  CHECK_FALSE(is_loopback_peer(make_address("2001:db8::1")));
}

TEST_CASE("with --admin-token the group routes need the bearer token", "[http][admin]") {
  auto node = start_node(PYTHEAS_BINARY, {"--admin-token", "s3cret"});
  HttpClient client("127.0.0.1", node.port);
  REQUIRE(client.post("/v1/decide", kDecideBody).status == 200);  // other routes: no token

  auto missing = client.get("/v1/groups");
  CHECK(missing.status == 401);
  CHECK(error_code(missing) == "unauthorized");
  CHECK(missing.headers.at("www-authenticate") == "Bearer");
  auto wrong = client.request("GET", "/v1/groups", "", "", {{"Authorization", "Bearer s3cre"}});
  CHECK(wrong.status == 401);
  auto longer = client.request("GET", "/v1/groups", "", "", {{"Authorization", "Bearer s3cretX"}});
  CHECK(longer.status == 401);
  CHECK(client.request("GET", "/v1/groups/Asn=1", "", "", {{"Authorization", "s3cret"}}).status ==
        401);

  auto allowed = client.request("GET", "/v1/groups", "", "", {{"Authorization", "Bearer s3cret"}});
  CHECK(allowed.status == 200);
  auto one =
      client.request("GET", "/v1/groups/Asn=nope", "", "", {{"Authorization", "Bearer s3cret"}});
  CHECK(one.status == 404);
  CHECK(error_code(one) == "unknown_group");
}

TEST_CASE("without a token the group routes refuse non-loopback peers", "[http][admin]") {
  pytheas::Node node({});
  node.start();
  auto handler = pytheas::http::make_api_handler(node);
  for (const char* target : {"/v1/groups", "/v1/groups/Asn=1"}) {
    pytheas::http::Request request{bhttp::verb::get, target, 11};
    const auto remote = handler->handle(request, {.peer_is_loopback = false});
    CHECK(remote.result_int() == 403);
    CHECK(remote.body().find("\"forbidden\"") != std::string::npos);
    const auto local = handler->handle(request, {.peer_is_loopback = true});
    CHECK(local.result_int() != 403);
  }
  pytheas::http::Request livez{bhttp::verb::get, "/livez", 11};
  CHECK(handler->handle(livez, {.peer_is_loopback = false}).result_int() == 200);
  node.stop();
}

TEST_CASE("without a token a proxied request is never a loopback client", "[http][admin][proxy]") {
  pytheas::Node node({});
  node.start();
  auto handler = pytheas::http::make_api_handler(node);
  for (const char* target : {"/v1/groups", "/v1/stats", "/v1/grouping", "/dashboard/"}) {
    for (const char* header :
         {"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via"}) {
      pytheas::http::Request request{bhttp::verb::get, target, 11};
      request.set(header, "203.0.113.7");
      const auto proxied = handler->handle(request, {.peer_is_loopback = true});
      CHECK(proxied.result_int() == 403);
      CHECK(proxied.body().find("proxied request") != std::string::npos);
    }
    pytheas::http::Request direct{bhttp::verb::get, target, 11};
    CHECK(handler->handle(direct, {.peer_is_loopback = true}).result_int() == 200);
  }
  // Player routes do not care who asks, proxied or not.
  pytheas::http::Request decide{bhttp::verb::post, "/v1/decide", 11};
  decide.set("X-Forwarded-For", "203.0.113.7");
  decide.body() = R"({"features":{"Asn":"1"},"candidates":["a","b"]})";
  decide.prepare_payload();
  CHECK(handler->handle(decide, {.peer_is_loopback = false}).result_int() == 200);
  node.stop();
}

TEST_CASE("without a token a node listening beyond loopback refuses admin routes to everyone",
          "[http][admin]") {
  using pytheas::http::is_loopback_host;
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("localhost"));
  CHECK(is_loopback_host("::1"));
  CHECK(is_loopback_host("[::1]"));
  CHECK_FALSE(is_loopback_host("0.0.0.0"));
  CHECK_FALSE(is_loopback_host("::"));
  CHECK_FALSE(is_loopback_host("10.1.2.3"));
  CHECK_FALSE(is_loopback_host("node.example"));
  pytheas::Node node({});
  node.start();
  pytheas::http::ApiOptions options;
  options.listens_on_loopback = false;
  auto handler = pytheas::http::make_api_handler(node, options);
  pytheas::http::Request request{bhttp::verb::get, "/v1/stats", 11};
  const auto local = handler->handle(request, {.peer_is_loopback = true});
  CHECK(local.result_int() == 403);
  CHECK(local.body().find("--admin-token") != std::string::npos);
  node.stop();
}
