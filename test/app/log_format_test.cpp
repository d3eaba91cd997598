// `pytheas node --log-format json`: every line the node writes to stderr is
// one JSON object with ts, level and msg, and decision/report lines (debug
// level) carry event_id, group, decision and propensity. Checked against a
// real node process.

#include <signal.h>
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test/support/http_client.hpp"
#include "test/support/process.hpp"

using namespace std::chrono_literals;
using namespace pytheas::test;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string field(simdjson::dom::element object, const char* name) {
  std::string_view value;
  if (object[name].get(value) != simdjson::SUCCESS) return "<missing>";
  return std::string(value);
}

}  // namespace

TEST_CASE("node --log-format json writes one JSON object per line with the decision fields",
          "[logs][process]") {
  auto node = start_node(PYTHEAS_BINARY, {"--log-format", "json", "--log-level", "debug"});
  HttpClient client("127.0.0.1", node.port);
  auto decided =
      client.post("/v1/decide", R"({"features":{"Asn":"log-7"},"candidates":["cdn-a","cdn-b"]})");
  REQUIRE(decided.status == 200);
  const auto id_at = decided.body.find("\"event_id\":\"") + 12;
  const auto event_id = decided.body.substr(id_at, decided.body.find('"', id_at) - id_at);
  REQUIRE(client.post("/v1/report", R"({"event_id":")" + event_id + R"(","score":2.5})").status ==
          202);
  REQUIRE(client.post("/v1/report", R"({"event_id":")" + event_id + R"(","score":2.5})").status ==
          409);
  node.process->send_signal(SIGTERM);
  REQUIRE(node.process->wait(20s) == 0);

  const auto lines = lines_of(node.process->stderr_text());
  INFO(node.process->stderr_text());
  REQUIRE(lines.size() >= 5);
  simdjson::dom::parser parser;
  bool saw_decide = false, saw_report = false, saw_duplicate = false, saw_group = false,
       saw_stopped = false;
  for (const auto& line : lines) {
    INFO("line: " << line);
    simdjson::dom::element object;
    REQUIRE(parser.parse(line).get(object) == simdjson::SUCCESS);
    REQUIRE(object.is_object());
    const auto ts = field(object, "ts");
    CHECK(ts.size() == 27);  // 2026-11-25T17:21:33.123456Z
    CHECK(ts.back() == 'Z');
    const auto level = field(object, "level");
    CHECK((level == "debug" || level == "info" || level == "warning" || level == "error"));
    const auto msg = field(object, "msg");
    CHECK(msg != "<missing>");
    if (msg == "decide") {
      saw_decide = true;
      CHECK(level == "debug");
      CHECK(field(object, "event_id") == event_id);
      CHECK(field(object, "group") == "Asn=log-7");
      CHECK(decided.body.find("\"decision\":\"" + field(object, "decision") + "\"") !=
            std::string::npos);
      double propensity = 0;
      REQUIRE(object["propensity"].get(propensity) == simdjson::SUCCESS);
      CHECK(propensity == Approx(0.5));  // a new group: uniform over two candidates
    }
    if (msg == "report") {
      CHECK(field(object, "event_id") == event_id);
      double score = 0;
      REQUIRE(object["score"].get(score) == simdjson::SUCCESS);
      CHECK(score == 2.5);
      const auto outcome = field(object, "outcome");
      saw_report |= outcome == "accepted";
      saw_duplicate |= outcome == "duplicate";
    }
    if (msg == "group activated") {
      saw_group = true;
      CHECK(field(object, "group") == "Asn=log-7");
    }
    saw_stopped |= msg == "stopped";
  }
  CHECK(saw_decide);
  CHECK(saw_report);
  CHECK(saw_duplicate);
  CHECK(saw_group);
  CHECK(saw_stopped);
}

TEST_CASE("node --log-level warn hides debug and info lines but keeps the lifecycle lines",
          "[logs][process]") {
  auto node = start_node(PYTHEAS_BINARY, {"--log-level", "warn"});
  HttpClient client("127.0.0.1", node.port);
  REQUIRE(client.post("/v1/decide", R"({"features":{"Asn":"q"},"candidates":["a","b"]})").status ==
          200);
  node.process->send_signal(SIGTERM);
  REQUIRE(node.process->wait(20s) == 0);
  const auto text = node.process->stderr_text();
  INFO(text);
  CHECK(text.find("listening on http://") != std::string::npos);  // scripts wait for it
  CHECK(text.find("stopped") != std::string::npos);
  CHECK(text.find(" decide") == std::string::npos);
  CHECK(text.find("group activated") == std::string::npos);
  CHECK(text.find("{\"ts\"") == std::string::npos);  // text is the default format
}

TEST_CASE("an unknown --log-format is a usage error", "[logs][process]") {
  auto run = run_to_completion({PYTHEAS_BINARY, "node", "--log-format", "xml"}, 20s);
  CHECK(run.exit_code != 0);
  CHECK(run.err.find("--log-format") != std::string::npos);
}
