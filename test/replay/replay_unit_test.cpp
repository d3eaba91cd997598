// The parts of `pytheas replay` that need no node: URL parsing and the
// loopback rule, request bodies of both protocols, decide-answer checks,
// quantiles and the stats' reconciliation counters.

#include <catch2/catch.hpp>
#include <sstream>

#include "core/errors.hpp"
#include "core/trace_format.hpp"
#include "simulation/replay_protocol.hpp"
#include "simulation/replay_stats.hpp"
#include "simulation/replay_target.hpp"

using namespace pytheas;
using namespace pytheas::sim;

namespace {

TraceSession sample_session() {
  // 15 features (Time first), two candidates, a LoadMap for cdn-a.
  const std::string line =
      "1000\t3.2\t1500\t800\tAS7922\tBo\"ston\tUS\twifi\tMA\tlinux\tvod\tobj 1\tflash\t1200\tcdn-a"
      "\tDecisionMap\tcdn-a,100\tcdn-b,120\tLoadMap\tcdn-a,0.5;2";
  TraceSession session;
  parse_trace_line(line, 1, 15, session);
  return session;
}

}  // namespace

TEST_CASE("replay URLs parse and bad ones are named", "[replay][unit]") {
  auto target = ReplayTarget::parse("http://127.0.0.1:8080");
  CHECK(target.host == "127.0.0.1");
  CHECK(target.port == 8080);
  CHECK(target.prefix.empty());
  CHECK(target.host_header() == "127.0.0.1:8080");

  auto v6 = ReplayTarget::parse("http://[::1]:9000/base/");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 9000);
  CHECK(v6.prefix == "/base");
  CHECK(v6.host_header() == "[::1]:9000");

  CHECK(ReplayTarget::parse("http://localhost").port == 80);
  CHECK_THROWS_WITH(ReplayTarget::parse("https://127.0.0.1:1"), Catch::Contains("https"));
  CHECK_THROWS_WITH(ReplayTarget::parse("127.0.0.1:80"), Catch::Contains("http://"));
  CHECK_THROWS_WITH(ReplayTarget::parse("http://127.0.0.1:0"), Catch::Contains("1..65535"));
  CHECK_THROWS_WITH(ReplayTarget::parse("http://127.0.0.1:99999"), Catch::Contains("1..65535"));
  CHECK_THROWS_WITH(ReplayTarget::parse("http://:80"), Catch::Contains("no host"));
  CHECK_THROWS_AS(ReplayTarget::parse("http://[::1:80"), InvalidInput);
}

TEST_CASE("only 127.0.0.0/8 and ::1 count as loopback", "[replay][unit]") {
  CHECK(is_loopback_address("127.0.0.1"));
  CHECK(is_loopback_address("127.255.3.4"));
  CHECK(is_loopback_address("::1"));
  CHECK(is_loopback_address("::ffff:127.0.0.1"));
  CHECK_FALSE(is_loopback_address("10.0.0.1"));
  CHECK_FALSE(is_loopback_address("128.0.0.1"));
  CHECK_FALSE(is_loopback_address("::2"));
  CHECK_FALSE(is_loopback_address("localhost"));  // names are resolved first
  CHECK_FALSE(is_loopback_address(""));
}

TEST_CASE("json protocol: features by name, escaped, report by event id with score = -cost",
          "[replay][unit]") {
  ReplayProtocol protocol(ReplayProtocolKind::json, FeatureSchema::original());
  const auto session = sample_session();
  const auto decide = protocol.decide_request(session);
  CHECK(decide.path == "/v1/decide");
  CHECK(decide.content_type == "application/json");
  CHECK_THAT(decide.body,
             Catch::StartsWith("{\"features\":{\"Time\":\"1000\",\"BufRate\":\"3.2\""));
  CHECK_THAT(decide.body, Catch::Contains("\"City\":\"Bo\\\"ston\""));
  CHECK_THAT(decide.body, Catch::EndsWith("\"candidates\":[\"cdn-a\",\"cdn-b\"]}"));

  std::string why;
  auto decision = protocol.parse_decide(
      200, R"({"event_id":"ab12","decision":"cdn-b","group":"Asn=AS7922","propensity":0.5})",
      session, why);
  REQUIRE(decision);
  CHECK(decision->decision == "cdn-b");
  CHECK(decision->event_id == "ab12");
  const auto report = protocol.report_request(session, *decision, 120.5);
  CHECK(report.path == "/v1/report");
  CHECK(report.body == R"({"event_id":"ab12","score":-120.5})");
  CHECK(protocol.report_success_status() == 202);

  // Not a candidate, not JSON, not 200: no decision, with a reason.
  CHECK_FALSE(protocol.parse_decide(200, R"({"event_id":"x","decision":"cdn-z"})", session, why));
  CHECK(why == "bad_response");
  CHECK_FALSE(protocol.parse_decide(200, "cdn-a", session, why));
  CHECK(why == "bad_response");
  CHECK_FALSE(protocol.parse_decide(503, R"({"error":{}})", session, why));
  CHECK(why == "http_503");
}

TEST_CASE("legacy protocol: the original player's form payloads, update carries the cost",
          "[replay][unit]") {
  ReplayProtocol protocol(ReplayProtocolKind::legacy, FeatureSchema::original());
  const auto session = sample_session();
  const auto decide = protocol.decide_request(session);
  CHECK(decide.path == "/player.php");
  CHECK(decide.content_type == "application/x-www-form-urlencoded");
  CHECK_THAT(decide.body, Catch::StartsWith("method=request&payload=1000%093.2%091500"));
  CHECK_THAT(decide.body, Catch::Contains("obj%201"));
  CHECK_THAT(decide.body, Catch::EndsWith("cdn-a%09cdn-a%09cdn-b"));

  std::string why;
  auto decision = protocol.parse_decide(200, "cdn-b", session, why);
  REQUIRE(decision);
  CHECK(decision->event_id.empty());
  const auto report = protocol.report_request(session, *decision, 99.25);
  CHECK_THAT(report.body, Catch::StartsWith("method=update&payload=1000%09"));
  CHECK_THAT(report.body, Catch::EndsWith("cdn-a%09cdn-b%0999.25"));
  CHECK(protocol.report_success_status() == 200);
  CHECK_FALSE(protocol.parse_decide(200, "", session, why));

  CHECK_THROWS_AS(ReplayProtocol(ReplayProtocolKind::legacy, FeatureSchema({"Asn", "City"})),
                  InvalidInput);
}

TEST_CASE("a session whose feature count differs from the schema is refused", "[replay][unit]") {
  ReplayProtocol protocol(ReplayProtocolKind::json, FeatureSchema({"Time", "Asn"}));
  CHECK_THROWS_WITH(protocol.decide_request(sample_session()), Catch::Contains("15 features"));
}

TEST_CASE("replay stats count every outcome and quantiles are nearest-rank", "[replay][unit]") {
  ReplayStats stats;
  for (int i = 0; i < 4; ++i) stats.on_sent(0);
  stats.on_decided(0, 0.001, true, "");
  stats.on_decided(1, 0.003, true, "");
  stats.on_decided(1, 3.0, false, "timeout");
  stats.on_cost(1, 10);
  stats.on_cost(1, 20);
  stats.on_report_sent(2);
  stats.on_report_done(2, true, "");
  stats.on_abandoned(3, 1, 1);
  const auto& t = stats.totals();
  CHECK(t.sessions == 4);
  CHECK(t.decide_ok == 2);
  CHECK(t.decide_failed == 2);
  CHECK(t.decide_failures.at("timeout") == 1);
  CHECK(t.decide_failures.at("abandoned") == 1);
  CHECK(t.reports_ok + t.reports_failed == t.decide_ok);
  CHECK(t.mean_cost() == Approx(15));
  REQUIRE(stats.seconds().size() == 4);
  CHECK(stats.seconds()[1].succeeded == 1);
  CHECK(stats.seconds()[1].failed == 1);
  CHECK(stats.latencies_ms().size() == 2);  // failures are not latencies

  std::vector<float> values = {5, 1, 4, 2, 3};
  CHECK(replay_quantile(values, 0.5) == 3);
  CHECK(replay_quantile(values, 0.99) == 5);
  CHECK(replay_quantile(values, 0) == 1);
  std::vector<float> empty;
  CHECK(replay_quantile(empty, 0.5) == 0);
}
