// The /v1 API, the legacy player protocol and the inspection routes, against
// a real `pytheas node` process over real sockets on 127.0.0.1.

#include <signal.h>

#include <catch2/catch.hpp>
#include <set>

#include "test/http/http_test_util.hpp"
#include "test/support/process.hpp"
#include "test/support/raw_socket.hpp"

using namespace pytheas::test;
using namespace std::chrono_literals;

namespace {

// The 15 original feature values of one session (Time first, Asn at index 4).
std::string legacy_features(const std::string& asn) {
  return "1473000000000\t3.2\t1500\t800\t" + asn +
         "\tBoston\tUS\twifi\tMA\tlinux\tvod\tobj-1\tflash\t1200\tcdn-a\t";
}

// What Python 2's urllib.urlencode does to a value (quote_plus).
std::string quote_plus(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-')
      out.push_back(static_cast<char>(c));
    else if (c == ' ')
      out.push_back('+');
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// A POST exactly as the original trace player (Python 2 urllib2) sends it.
std::string urllib2_post(unsigned short port, const std::string& payload,
                         const std::string& method) {
  const std::string body = "payload=" + quote_plus(payload) + "&method=" + method;
  return "POST /player.php HTTP/1.1\r\nAccept-Encoding: identity\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
         "User-Agent: Python-urllib/2.7\r\n\r\n" +
         body;
}

std::string fmt_hex(unsigned char c) {
  static const char* hex = "0123456789ABCDEF";
  return {'%', hex[c >> 4], hex[c & 15]};
}

std::string legacy_reply_bytes(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\n"
         "Access-Control-Allow-Origin: *\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("decide answers a new group with the uniform fallback, then from its snapshot",
          "[http][api]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  auto first = client.post("/v1/decide", kDecideBody);
  REQUIRE(first.status == 200);
  CHECK(first.headers.at("content-type") == "application/json");
  Json json(first.body);
  INFO(first.body);
  REQUIRE(json.ok());
  CHECK_FALSE(json.str("/event_id").empty());
  const auto decision = json.str("/decision");
  CHECK((decision == "cdn-a" || decision == "cdn-b"));
  CHECK(json.str("/group").find("7922") != std::string::npos);
  CHECK(json.str("/policy") == "fallback-uniform");
  CHECK(json.num("/propensity") == Approx(0.5));

  // Once the group has published a snapshot, its policy answers.
  CHECK(eventually([&] {
    Json next(client.post("/v1/decide", kDecideBody).body);
    return next.str("/policy") != "fallback-uniform" && next.num("/propensity") > 0 &&
           next.num("/propensity") <= 1;
  }));
  // Event ids are unique per decision.
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i)
    ids.insert(Json(client.post("/v1/decide", kDecideBody).body).str("/event_id"));
  CHECK(ids.size() == 20);
}

TEST_CASE("decide rejects bad bodies with 400 and a named error", "[http][api]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  auto unknown = client.post("/v1/decide", R"({"features":{"Cty":"Boston"},"candidates":["a"]})");
  CHECK(unknown.status == 400);
  CHECK(error_code(unknown) == "unknown_feature");
  CHECK(unknown.body.find("Cty") != std::string::npos);

  auto broken = client.post("/v1/decide", R"({"features":)");
  CHECK(broken.status == 400);
  CHECK(error_code(broken) == "invalid_json");

  auto empty = client.post("/v1/decide", R"({"features":{},"candidates":[]})");
  CHECK(empty.status == 400);
  CHECK(error_code(empty) == "invalid_candidates");

  auto duplicate = client.post("/v1/decide", R"({"features":{},"candidates":["a","a"]})");
  CHECK(duplicate.status == 400);
  CHECK(error_code(duplicate) == "invalid_candidates");

  auto missing = client.post("/v1/decide", R"({"features":{}})");
  CHECK(missing.status == 400);
  CHECK(error_code(missing) == "missing_field");

  // The connection survives 400s (keep-alive).
  CHECK(client.get("/livez").status == 200);
  CHECK(client.connections_opened() == 1);
}

TEST_CASE("report: 202 once per event, 409 on the second, 404 when unknown", "[http][api]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  auto decided = Json(client.post("/v1/decide", kDecideBody).body);
  const auto event_id = decided.str("/event_id");
  REQUIRE(event_id != "<missing>");

  auto accepted = client.post("/v1/report", R"({"event_id":")" + event_id + R"(","score":3.5})");
  CHECK(accepted.status == 202);
  auto again = client.post("/v1/report", R"({"event_id":")" + event_id + R"(","score":3.5})");
  CHECK(again.status == 409);
  CHECK(error_code(again) == "duplicate_report");
  auto unknown = client.post("/v1/report", R"({"event_id":"no-such-event","score":1})");
  CHECK(unknown.status == 404);
  CHECK(error_code(unknown) == "unknown_event");

  auto by_features =
      client.post("/v1/report", R"({"features":{"Asn":"7922"},"decision":"cdn-b","score":-1.25})");
  CHECK(by_features.status == 202);
}

TEST_CASE("report: missing field, NaN or non-number score are 400", "[http][api]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  for (const char* body :
       {R"({"event_id":"e"})", R"({"score":1})", R"({"event_id":"e","score":"1"})",
        R"({"event_id":"e","score":NaN})", R"({"event_id":"e","score":"NaN"})",
        R"({"event_id":"e","score":1e400})", R"({"features":{},"score":1})"}) {
    INFO(body);
    auto reply = client.post("/v1/report", body);
    CHECK(reply.status == 400);
    auto code = error_code(reply);
    CHECK((code == "missing_field" || code == "invalid_score" || code == "invalid_json"));
  }
}

TEST_CASE("wrong method is 405 with Allow, unknown route is a 404 JSON error", "[http][api]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  auto get_decide = client.get("/v1/decide");
  CHECK(get_decide.status == 405);
  CHECK(get_decide.headers.at("allow") == "POST, OPTIONS");
  CHECK(error_code(get_decide) == "method_not_allowed");
  auto post_metrics = client.post("/metrics", "");
  CHECK(post_metrics.status == 405);
  CHECK(post_metrics.headers.at("allow") == "GET");
  CHECK(client.request("DELETE", "/v1/groups", "", "").headers.at("allow") == "GET");
  CHECK(client.get("/player.php").headers.at("allow") == "POST, OPTIONS");
  auto missing = client.get("/v2/nothing");
  CHECK(missing.status == 404);
  CHECK(error_code(missing) == "not_found");
}

TEST_CASE("groups list and group detail show arms, counts and weights", "[http][api]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  const char* body = R"({"features":{"Asn":"AS 1/x","City":"Boston"},"candidates":["a","b"]})";
  std::string group;
  for (int i = 0; i < 10; ++i) {
    Json decided(client.post("/v1/decide", body).body);
    group = decided.str("/group");
    auto report = client.post("/v1/report", R"({"event_id":")" + decided.str("/event_id") +
                                                R"(","score":)" + std::to_string(i) + "}");
    REQUIRE(report.status == 202);
  }
  REQUIRE(group != "<missing>");
  // The key in the path is percent-encoded (it holds a space, '/' and '=').
  std::string encoded;
  for (unsigned char c : group) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.')
      encoded.push_back(static_cast<char>(c));
    else
      encoded += fmt_hex(c);
  }
  CHECK(eventually([&] {
    Json detail(client.get("/v1/groups/" + encoded).body);
    return detail.str("/key") == group && detail.num("/reports") == 10 &&
           detail.root()["arms"].get_array().size() == 2;
  }));
  Json detail(client.get("/v1/groups/" + encoded).body);
  double weights = 0;
  for (auto arm : detail.root()["arms"].get_array()) {
    double weight = arm["weight"].get_double().value();
    CHECK(weight >= 0);
    weights += weight;
    CHECK(arm["count"].get_double().value() > 0);
  }
  CHECK(weights == Approx(1.0));
  CHECK(detail.num("/last_update") >= 0);

  Json list(client.get("/v1/groups").body);
  REQUIRE(list.ok());
  bool found = false;
  for (auto entry : list.root()["groups"].get_array())
    found |= std::string_view(entry["key"].get_string().value()) == group;
  CHECK(found);

  auto unknown = client.get("/v1/groups/no%20such%20group");
  CHECK(unknown.status == 404);
  CHECK(error_code(unknown) == "unknown_group");
  CHECK(client.get("/v1/groups/bad%zz").status == 400);
}

TEST_CASE("metrics count requests by route and status in Prometheus text", "[http][api]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  for (int i = 0; i < 3; ++i) REQUIRE(client.post("/v1/decide", kDecideBody).status == 200);
  client.post("/v1/report", R"({"event_id":"nope","score":1})");
  client.get("/nowhere");
  auto metrics = client.get("/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.headers.at("content-type").find("text/plain") == 0);
  const auto& text = metrics.body;
  INFO(text);
  CHECK(text.find("\npytheas_http_requests_total{route=\"/v1/decide\",status=\"200\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("\npytheas_http_requests_total{route=\"/v1/report\",status=\"404\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("\npytheas_http_requests_total{route=\"unknown\",status=\"404\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("\npytheas_reports_total{result=\"unknown_event\"} 1\n") != std::string::npos);
  CHECK(text.find("pytheas_http_request_duration_seconds_count{route=\"/v1/decide\"} 3") !=
        std::string::npos);
  CHECK(text.find("\npytheas_active_groups ") != std::string::npos);
  CHECK(text.find("\npytheas_report_queue_depth ") != std::string::npos);
  CHECK(text.find("\npytheas_http_open_connections 1\n") != std::string::npos);
}

TEST_CASE("livez and readyz", "[http][api]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  auto live = client.get("/livez");
  CHECK(live.status == 200);
  CHECK(live.body == "ok\n");
  CHECK(eventually([&] { return client.get("/readyz").status == 200; }));
}

TEST_CASE("keep-alive: many requests on one connection, HTTP/1.0 closes", "[http][api]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  for (int i = 0; i < 50; ++i) {
    auto reply = i % 2 ? client.get("/livez") : client.post("/v1/decide", kDecideBody);
    REQUIRE(reply.status == 200);
    CHECK(reply.keep_alive);
  }
  CHECK(client.connections_opened() == 1);

  // Two pipelined requests in one write get two answers, in order.
  RawSocket pipelined(node.port);
  REQUIRE(pipelined.send(
      "GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(pipelined.read_response(5s).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(pipelined.read_response(5s).rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);

  RawSocket old(node.port);
  REQUIRE(old.send("GET /livez HTTP/1.0\r\n\r\n"));
  auto reply = old.read_response(5s);
  CHECK(reply.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(old.wait_closed(5s).count() >= 0);
}

TEST_CASE("legacy request/update exchange is byte-compatible with the original player",
          "[http][legacy]") {
  auto node = start_node(PYTHEAS_BINARY);
  {
    // One candidate: the reply is exactly that decision, as the PHP echoed it.
    RawSocket socket(node.port);
    REQUIRE(socket.send(urllib2_post(node.port, legacy_features("7922") + "cdn-a", "request")));
    CHECK(socket.read_response(5s) == legacy_reply_bytes("cdn-a"));
    CHECK(socket.wait_closed(5s).count() >= 0);  // the player asked for Connection: close
  }
  std::string decision;
  {
    RawSocket socket(node.port);
    REQUIRE(socket.send(
        urllib2_post(node.port, legacy_features("7922") + "cdn-a\tcdn-b\tcdn c", "request")));
    auto reply = socket.read_response(5s);
    decision = reply.substr(reply.find("\r\n\r\n") + 4);
    CHECK((decision == "cdn-a" || decision == "cdn-b" || decision == "cdn c"));
    CHECK(reply == legacy_reply_bytes(decision));
  }
  {
    // update: the cost (lower is better) becomes a negated QoE score.
    RawSocket socket(node.port);
    REQUIRE(socket.send(
        urllib2_post(node.port, legacy_features("7922") + decision + "\t1234.5", "update")));
    CHECK(socket.read_response(5s) == legacy_reply_bytes(""));
  }
  HttpClient client("127.0.0.1", node.port);
  CHECK(eventually([&] {
    Json groups(client.get("/v1/groups").body);
    if (!groups.ok()) return false;
    for (auto group : groups.root()["groups"].get_array()) {
      if (std::string_view(group["key"].get_string().value()).find("7922") ==
          std::string_view::npos)
        continue;
      for (auto arm : group["arms"].get_array())
        if (std::string_view(arm["name"].get_string().value()) == decision &&
            arm["mean"].get_double().value() == Approx(-1234.5))
          return true;
    }
    return false;
  }));
}

TEST_CASE("legacy protocol errors are 400 JSON errors", "[http][legacy]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  const std::string form = "application/x-www-form-urlencoded";
  CHECK(error_code(client.post("/player.php", "payload=a", form)) == "missing_field");
  CHECK(error_code(client.post("/player.php", "method=request", form)) == "missing_field");
  CHECK(error_code(client.post("/player.php", "method=delete&payload=a", form)) == "invalid_field");
  CHECK(error_code(client.post("/player.php", "method=request&payload=a%09b", form)) ==
        "invalid_payload");
  CHECK(error_code(client.post("/player.php", "method=request&payload=%zz", form)) ==
        "invalid_form");
  const std::string features = quote_plus(legacy_features("1"));
  CHECK(error_code(client.post("/player.php", "method=update&payload=" + features + "a%09cheap",
                               form)) == "invalid_score");
  CHECK(client.post("/player.php", "method=update&payload=" + features + "a", form).status == 400);
}
