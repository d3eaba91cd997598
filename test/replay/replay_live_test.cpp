// `pytheas replay` end to end against a real `pytheas node` on 127.0.0.1:
// counts reconcile between the replay's files and the node's /v1/groups,
// failures (closed port, silent node) are counted and the run still ends.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/trace_format.hpp"
#include "core/trace_source.hpp"
#include "simulation/replay.hpp"
#include "test/replay/replay_summary.hpp"
#include "test/support/http_client.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using pytheas::test::run_to_completion;
namespace fs = std::filesystem;
namespace sim = pytheas::sim;
using tcp = boost::asio::ip::tcp;

namespace {

using pytheas::test::read_replay_summary;
using pytheas::test::read_text_file;
using pytheas::test::TempDir;

// A 3-second trace of `sessions` sessions over 4 ASNs and two CDNs.
std::string generate_trace(const TempDir& dir, int sessions) {
  return pytheas::test::generate_trace(PYTHEAS_BINARY, dir.path().string(),
                                       "seed: 5\nsessions: " + std::to_string(sessions) +
                                           "\nduration_s: 3\nasns: 4\n"
                                           "decisions:\n  - {name: cdn-a, cost: 100}\n"
                                           "  - {name: cdn-b, cost: 115}\n");
}

long key(const std::map<std::string, std::string>& keys, const std::string& name) {
  auto it = keys.find(name);
  return it == keys.end() ? -1 : std::stol(it->second);
}

// Column sums of replay.csv, by column name.
std::map<std::string, double> csv_sums(const std::string& path) {
  std::istringstream in(read_text_file(path));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string name; std::getline(header, name, ',');) names.push_back(name);
  std::map<std::string, double> sums;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string cell;
    for (std::size_t i = 0; std::getline(row, cell, ',') && i < names.size(); ++i)
      if (!cell.empty()) sums[names[i]] += std::stod(cell);
  }
  return sums;
}

// Sum of `reports` over the node's groups.
long node_reports(unsigned short port) {
  pytheas::test::HttpClient client("127.0.0.1", port, 5s);
  auto reply = client.get("/v1/groups?limit=1000");
  REQUIRE(reply.status == 200);
  // Sum the numbers after every "reports": (std::regex trips g++ 12's
  // -Wmaybe-uninitialized in sanitizer builds).
  const std::string needle = "\"reports\":";
  long total = 0;
  for (auto at = reply.body.find(needle); at != std::string::npos;
       at = reply.body.find(needle, at + 1))
    total += std::stol(reply.body.substr(at + needle.size(), 20));
  return total;
}

// Polls until the node has recorded `expected` reports (or 10 s passed).
long wait_for_node_reports(unsigned short port, long expected) {
  long seen = -1;
  for (int i = 0; i < 100; ++i) {
    seen = node_reports(port);
    if (seen == expected) break;
    std::this_thread::sleep_for(100ms);
  }
  return seen;
}

// A loopback port nothing listens on (bound, then closed).
unsigned short closed_port() {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::string url(unsigned short port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

}  // namespace

TEST_CASE("json replay: every decide's report is recorded at the node", "[replay][live]") {
  TempDir dir("pytheas-replay");
  const auto trace = generate_trace(dir, 300);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY);
  auto run = run_to_completion(
      {PYTHEAS_BINARY, "replay", "--trace", trace, "--url", url(node.port), "--rps", "600",
       "--report-delay", "0.3", "--out", dir.path_of("out"), "--no-plot"},
      60s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.err.find('\r') == std::string::npos);  // no progress bar on a pipe

  const auto summary = read_replay_summary(dir.path_of("out/summary.txt"));
  CHECK(key(summary, "sessions") == 300);
  CHECK(key(summary, "decide_ok") == 300);
  CHECK(key(summary, "decide_failed") == 0);
  CHECK(key(summary, "reports_sent") == 300);
  CHECK(key(summary, "reports_ok") == 300);
  CHECK(key(summary, "reports_failed") == 0);
  CHECK(key(summary, "abandoned") == 0);

  auto sums = csv_sums(dir.path_of("out/replay.csv"));
  CHECK(sums["sent"] == 300);
  CHECK(sums["succeeded"] == 300);
  CHECK(sums["failed"] == 0);
  CHECK(sums["reports_ok"] == 300);
  CHECK(fs::file_size(dir.path_of("out/latency_cdf.csv")) > 100);

  CHECK(wait_for_node_reports(node.port, 300) == 300);
}

TEST_CASE("legacy replay follows trace time and reconciles with the node", "[replay][live]") {
  TempDir dir("pytheas-replay");
  const auto trace = generate_trace(dir, 200);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY);
  auto run = run_to_completion(
      {PYTHEAS_BINARY, "replay", "--trace", trace, "--url", url(node.port), "--protocol", "legacy",
       "--speed", "2", "--report-delay", "0.2", "--out", dir.path_of("out"), "--no-plot"},
      60s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto summary = read_replay_summary(dir.path_of("out/summary.txt"));
  CHECK(key(summary, "sessions") == 200);
  CHECK(key(summary, "decide_ok") == 200);
  CHECK(key(summary, "reports_ok") == 200);
  // A 3 s trace at speed 2 takes ~1.5 s to send (the first and last session
  // are ~3 trace seconds apart).
  const double sending_s = std::stod(summary.at("sending_s"));
  CHECK(sending_s > 1.2);
  CHECK(sending_s < 2.5);
  CHECK(wait_for_node_reports(node.port, 200) == 200);
}

TEST_CASE("a closed port gets the fallback decision, counted as failures, the rest reconciles",
          "[replay][live][fault]") {
  TempDir dir("pytheas-replay");
  const auto trace = generate_trace(dir, 300);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY);
  auto run = run_to_completion({PYTHEAS_BINARY, "replay", "--trace", trace, "--url", url(node.port),
                                "--url", url(closed_port()), "--rps", "600", "--report-delay",
                                "0.2", "--out", dir.path_of("out"), "--no-plot"},
                               60s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto summary = read_replay_summary(dir.path_of("out/summary.txt"));
  // Round robin: every second session went to the closed port.
  CHECK(key(summary, "sessions") == 300);
  CHECK(key(summary, "decide_ok") == 150);
  CHECK(key(summary, "decide_failed") == 150);
  CHECK(key(summary, "decide_failed.connection_refused") == 150);
  CHECK(key(summary, "reports_ok") == 150);
  CHECK(key(summary, "reports_failed") == 0);
  auto sums = csv_sums(dir.path_of("out/replay.csv"));
  CHECK(sums["failed"] == 150);
  CHECK(std::stod(summary.at("mean_cost")) > 50);  // fallback sessions have costs too
  CHECK(wait_for_node_reports(node.port, 150) == 150);

  // Only a closed port: everything fails, the replay still completes.
  auto dead =
      run_to_completion({PYTHEAS_BINARY, "replay", "--trace", trace, "--url", url(closed_port()),
                         "--rps", "1000", "--out", dir.path_of("dead"), "--no-plot"},
                        60s);
  INFO(dead.err);
  REQUIRE(dead.exit_code == 0);
  const auto dead_summary = read_replay_summary(dir.path_of("dead/summary.txt"));
  CHECK(key(dead_summary, "sessions") == 300);
  CHECK(key(dead_summary, "decide_failed") == 300);
  CHECK(key(dead_summary, "reports_sent") == 0);
}

TEST_CASE("with --failover, sessions of a closed port move to the living URL",
          "[replay][live][fault]") {
  TempDir dir("pytheas-replay");
  const auto trace = generate_trace(dir, 300);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY);
  auto run = run_to_completion(
      {PYTHEAS_BINARY, "replay", "--trace", trace, "--url", url(node.port), "--url",
       url(closed_port()), "--rps", "600", "--report-delay", "0.2", "--failover", "--failover-hold",
       "60", "--out", dir.path_of("out"), "--no-plot"},
      60s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto summary = read_replay_summary(dir.path_of("out/summary.txt"));
  CHECK(key(summary, "sessions") == 300);
  CHECK(key(summary, "decide_ok") == 300);
  CHECK(key(summary, "decide_failed") == 0);
  // The closed port is tried once, then avoided for the hold time (a few
  // sessions in flight at that moment may each try it once).
  CHECK(key(summary, "failovers") >= 1);
  CHECK(key(summary, "failovers") <= 20);
  CHECK(key(summary, "reports_ok") == 300);
  CHECK(wait_for_node_reports(node.port, 300) == 300);
}

TEST_CASE("a node that accepts but never answers: each request times out, the run ends",
          "[replay][live][fault]") {
  // Listening but never accepting: the kernel completes the handshakes, the
  // requests sit unread.
  boost::asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  std::string text;
  for (int i = 0; i < 20; ++i)
    text += std::to_string(1000 + i * 10) +
            "\t1\t1\t1\tAS1\tc\tUS\tdsl\tS\tlinux\tvod\to\tflash\t1\tcdn-a"
            "\tDecisionMap\tcdn-a,100\tcdn-b,50\tLoadMap\tcdn-a,0.5;2\n";
  std::istringstream in(text);
  pytheas::TraceTextReader reader(in, 15);
  sim::ReplayOptions options;
  options.urls = {url(silent.local_endpoint().port())};
  options.rps = 200;
  options.timeout = 200ms;
  options.connections = 4;  // 16 requests wait in the client queue
  sim::ReplayStats stats;
  const auto started = std::chrono::steady_clock::now();
  const auto result = sim::run_replay(reader, options, stats);
  const auto took = std::chrono::steady_clock::now() - started;

  const auto& totals = stats.totals();
  CHECK(totals.sessions == 20);
  CHECK(totals.decide_failed == 20);
  CHECK(totals.decide_failures.at("timeout") == 20);
  CHECK(totals.reports_sent == 0);
  CHECK(result.abandoned == 0);
  // Fallback = the first candidate (cdn-a, cost 100; the load factor 2 applies
  // above half of the minute's sessions): never the cheaper cdn-b.
  CHECK(totals.mean_cost() > 100);
  // 20 sessions over 0.1 s, then at most a 200 ms timeout each in 5 waves of 4.
  CHECK(took < 3s);
}

TEST_CASE("non-loopback targets are refused unless --allow-remote", "[replay][cli]") {
  TempDir dir("pytheas-replay");
  const auto trace = generate_trace(dir, 10);
  auto run = run_to_completion({PYTHEAS_BINARY, "replay", "--trace", trace, "--url",
                                "http://192.0.2.1:8080", "--out", dir.path_of("out"), "--no-plot"},
                               30s);
  CHECK(run.exit_code == 2);
  CHECK_THAT(run.err, Catch::Contains("--allow-remote"));
  CHECK_FALSE(fs::exists(dir.path_of("out/summary.txt")));

  auto bad = run_to_completion({PYTHEAS_BINARY, "replay", "--trace", trace, "--url",
                                "ftp://127.0.0.1", "--out", dir.path_of("out"), "--no-plot"},
                               30s);
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("http://"));
}

TEST_CASE("a malformed trace or one with the wrong features is a precise error", "[replay][cli]") {
  TempDir dir("pytheas-replay");
  std::ofstream(dir.path_of("short.trace")) << "1000\tAS1\tDecisionMap\tcdn-a,1\tLoadMap\n";
  std::ofstream(dir.path_of("broken.trace")) << "1000\tAS1\tDecisionMap\tcdn-a,1\n";
  auto run =
      run_to_completion({PYTHEAS_BINARY, "replay", "--trace", dir.path_of("short.trace"), "--url",
                         url(closed_port()), "--out", dir.path_of("out"), "--no-plot"},
                        30s);
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.err, Catch::Contains("short.trace") && Catch::Contains("2 features"));
  run = run_to_completion({PYTHEAS_BINARY, "replay", "--trace", dir.path_of("broken.trace"),
                           "--url", url(closed_port()), "--out", dir.path_of("out"), "--no-plot"},
                          30s);
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.err, Catch::Contains("broken.trace") && Catch::Contains("line 1"));
}

TEST_CASE("connections are kept alive: a few connections carry every request", "[replay][live]") {
  TempDir dir("pytheas-replay");
  const auto trace = generate_trace(dir, 200);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY);
  auto source = pytheas::open_trace_file(trace);
  sim::ReplayOptions options;
  options.urls = {url(node.port)};
  options.rps = 1000;
  options.report_delay_s = 0.1;
  options.connections = 4;
  sim::ReplayStats stats;
  const auto result = sim::run_replay(*source, options, stats);
  CHECK(stats.totals().decide_ok == 200);
  CHECK(stats.totals().reports_ok == 200);
  REQUIRE(result.connections_opened.size() == 1);
  // 400 requests over at most 4 connections (each opened once).
  CHECK(result.connections_opened[0] >= 1);
  CHECK(result.connections_opened[0] <= 4);
  CHECK(result.answering_s >= result.sending_s);
  CHECK(wait_for_node_reports(node.port, 200) == 200);
}

TEST_CASE("a keep-alive connection the node closed while idle costs no request", "[replay][live]") {
  // The node closes connections idle for 100 ms; 40 sessions over 3 s of
  // trace time leave gaps longer than that, so requests go out on
  // connections the node has already closed. Each is sent again, once, on a
  // new connection: none fails, every report reaches the node once.
  TempDir dir("pytheas-replay");
  const auto trace = generate_trace(dir, 40);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, {"--idle-timeout-ms", "100"});
  auto source = pytheas::open_trace_file(trace);
  sim::ReplayOptions options;
  options.urls = {url(node.port)};
  options.speed = 1;
  options.report_delay_s = 0.3;
  options.connections = 2;
  sim::ReplayStats stats;
  const auto result = sim::run_replay(*source, options, stats);
  CHECK(stats.totals().decide_ok == 40);
  CHECK(stats.totals().decide_failed == 0);
  CHECK(stats.totals().reports_ok == 40);
  CHECK(stats.totals().reports_failed == 0);
  REQUIRE(result.idle_retries.size() == 1);
  CHECK(result.idle_retries[0] > 0);  // the node did close idle connections
  CHECK(result.connections_opened[0] > 2);
  CHECK(wait_for_node_reports(node.port, 40) == 40);
}
