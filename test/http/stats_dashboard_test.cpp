// GET /v1/stats (the dashboard's data) and the dashboard's files, through the
// real handler over an in-process Node: counters that follow the traffic,
// busiest groups first with their decision shares, and the same access rule
// as the other admin routes.

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "actors/node/node.hpp"
#include "http/api.hpp"
#include "test/http/http_test_util.hpp"

using namespace pytheas::test;
namespace bhttp = boost::beast::http;

namespace {

pytheas::http::Response call(pytheas::http::Handler& handler, bhttp::verb verb,
                             const std::string& target, const std::string& body = "",
                             bool loopback = true) {
  pytheas::http::Request request{verb, target, 11};
  request.body() = body;
  request.prepare_payload();
  return handler.handle(request, {.peer_is_loopback = loopback});
}

std::string decide_body(const std::string& asn) {
  return R"({"features":{"Asn":")" + asn + R"("},"candidates":["cdn-a","cdn-b","cdn-c"]})";
}

// Sends `count` decisions for `asn`, each reported with a score that favours cdn-b.
void traffic(pytheas::http::Handler& handler, const std::string& asn, int count) {
  for (int i = 0; i < count; ++i) {
    auto decided = call(handler, bhttp::verb::post, "/v1/decide", decide_body(asn));
    REQUIRE(decided.result_int() == 200);
    Json json(decided.body());
    const double score = json.str("/decision") == "cdn-b" ? 5.0 : 1.0;
    auto reported = call(
        handler, bhttp::verb::post, "/v1/report",
        R"({"event_id":")" + json.str("/event_id") + R"(","score":)" + std::to_string(score) + "}");
    REQUIRE(reported.result_int() == 202);
  }
}

}  // namespace

TEST_CASE("/v1/stats counts the traffic and lists the busiest groups first", "[http][stats]") {
  pytheas::Node node({});
  node.start();
  auto handler = pytheas::http::make_api_handler(node);
  traffic(*handler, "busy", 40);
  traffic(*handler, "quiet", 5);
  traffic(*handler, "middle", 12);

  REQUIRE(eventually([&] {
    Json json(call(*handler, bhttp::verb::get, "/v1/stats").body());
    return json.num("/reports_applied") == 57;
  }));
  auto reply = call(*handler, bhttp::verb::get, "/v1/stats");
  REQUIRE(reply.result_int() == 200);
  CHECK(reply[bhttp::field::content_type] == "application/json");
  Json json(reply.body());
  REQUIRE(json.ok());
  CHECK(json.root()["ready"].get_bool().value() == true);
  CHECK(json.num("/active_groups") == 3);
  CHECK(json.num("/group_count") == 3);
  CHECK(json.num("/decisions") == 57);
  CHECK(json.num("/reports_accepted") == 57);
  CHECK(json.num("/reports_rejected") == 0);
  CHECK(json.num("/freshness/count") == 57);
  CHECK(json.num("/freshness/p50_s") > 0);
  CHECK(json.num("/freshness/p99_s") >= json.num("/freshness/p50_s"));
  CHECK(json.num("/now") > 1.6e9);  // unix seconds

  CHECK(json.str("/groups/0/key") == "Asn=busy");
  CHECK(json.str("/groups/1/key") == "Asn=middle");
  CHECK(json.str("/groups/2/key") == "Asn=quiet");
  CHECK(json.num("/groups/0/reports") == 40);
  CHECK(json.str("/groups/0/policy") == "ducb");
  CHECK(json.root().at_pointer("/groups/0/owner").is_null());  // not a cluster member
  CHECK(json.num("/groups/0/snapshot_age_s") >= 0);
  CHECK(json.num("/groups/0/snapshot_age_s") < 60);
  // Decision shares: weights of a snapshot sum to 1, and the expected score
  // lies between the worst and best arm means.
  double weights = 0, lowest = 1e9, highest = -1e9;
  auto arms = json.root().at_pointer("/groups/0/arms").get_array();
  REQUIRE(arms.size() == 3);
  for (auto arm : arms) {
    weights += arm["weight"].get_double().value();
    lowest = std::min(lowest, arm["mean"].get_double().value());
    highest = std::max(highest, arm["mean"].get_double().value());
  }
  CHECK(weights == Approx(1.0).margin(1e-9));
  CHECK(json.num("/groups/0/expected_score") >= lowest - 1e-9);
  CHECK(json.num("/groups/0/expected_score") <= highest + 1e-9);

  // ?groups= limits the list (the count still says how many there are).
  Json one(call(*handler, bhttp::verb::get, "/v1/stats?groups=1").body());
  CHECK(one.num("/group_count") == 3);
  CHECK(one.root()["groups"].get_array().size() == 1);
  CHECK(one.str("/groups/0/key") == "Asn=busy");
  for (const char* bad : {"/v1/stats?groups=x", "/v1/stats?groups=101", "/v1/stats?groups=-1"}) {
    auto refused = call(*handler, bhttp::verb::get, bad);
    CHECK(refused.result_int() == 400);
  }
  CHECK(call(*handler, bhttp::verb::post, "/v1/stats").result_int() == 405);
  node.stop();
}

TEST_CASE("/v1/stats counts rejected reports and has no freshness before any report",
          "[http][stats]") {
  pytheas::Node node({});
  node.start();
  auto handler = pytheas::http::make_api_handler(node);
  Json empty(call(*handler, bhttp::verb::get, "/v1/stats").body());
  REQUIRE(empty.ok());
  CHECK(empty.num("/freshness/count") == 0);
  CHECK(empty.root().at_pointer("/freshness/p50_s").is_null());
  CHECK(empty.root()["groups"].get_array().size() == 0);
  CHECK(call(*handler, bhttp::verb::post, "/v1/report", R"({"event_id":"nope","score":1})")
            .result_int() == 404);
  Json after(call(*handler, bhttp::verb::get, "/v1/stats").body());
  CHECK(after.num("/reports_rejected") == 1);
  CHECK(after.num("/reports_accepted") == 0);
  node.stop();
}

TEST_CASE("the dashboard's files are served from the binary", "[http][dashboard]") {
  pytheas::Node node({});
  node.start();
  auto handler = pytheas::http::make_api_handler(node);
  for (const char* page : {"/", "/dashboard", "/dashboard/"}) {
    auto reply = call(*handler, bhttp::verb::get, page);
    REQUIRE(reply.result_int() == 200);
    CHECK(reply[bhttp::field::content_type] == "text/html; charset=utf-8");
    CHECK(reply.body().find("<title>Pytheas node</title>") != std::string::npos);
    // Everything the page loads comes from this node.
    CHECK(reply.body().find("http://") == std::string::npos);
    CHECK(reply.body().find("https://") == std::string::npos);
    CHECK(std::string(reply["Content-Security-Policy"]).find("default-src 'none'") !=
          std::string::npos);
  }
  auto js = call(*handler, bhttp::verb::get, "/dashboard/dashboard.js");
  REQUIRE(js.result_int() == 200);
  CHECK(js[bhttp::field::content_type] == "text/javascript; charset=utf-8");
  CHECK(js.body().find("/v1/stats") != std::string::npos);
  auto css = call(*handler, bhttp::verb::get, "/dashboard/dashboard.css");
  REQUIRE(css.result_int() == 200);
  CHECK(css[bhttp::field::content_type] == "text/css; charset=utf-8");
  CHECK(call(*handler, bhttp::verb::get, "/dashboard/nope.js").result_int() == 404);
  CHECK(call(*handler, bhttp::verb::get, "/dashboard/../api.cpp").result_int() == 404);
  CHECK(call(*handler, bhttp::verb::post, "/").result_int() == 405);
  node.stop();
}

TEST_CASE("the dashboard and /v1/stats follow the admin access rule", "[http][dashboard][admin]") {
  pytheas::Node node({});
  node.start();
  {
    // No token: loopback peers only, for the page and its data.
    auto handler = pytheas::http::make_api_handler(node);
    for (const char* target : {"/", "/dashboard/dashboard.js", "/v1/stats"}) {
      CHECK(call(*handler, bhttp::verb::get, target, "", false).result_int() == 403);
      CHECK(call(*handler, bhttp::verb::get, target, "", true).result_int() == 200);
    }
  }
  {
    // With a token: the page (no data in it) loads anywhere and asks for the
    // token; the data needs it, from loopback peers too.
    pytheas::http::ApiOptions options;
    options.admin_token = "s3cret";
    auto handler = pytheas::http::make_api_handler(node, options);
    CHECK(call(*handler, bhttp::verb::get, "/", "", false).result_int() == 200);
    CHECK(call(*handler, bhttp::verb::get, "/v1/stats", "", true).result_int() == 401);
    pytheas::http::Request request{bhttp::verb::get, "/v1/stats", 11};
    request.set(bhttp::field::authorization, "Bearer s3cret");
    CHECK(handler->handle(request, {.peer_is_loopback = false}).result_int() == 200);
  }
  node.stop();
}
