// `pytheas evaluate` and `pytheas trace export` on logs collected from a real
// `pytheas node --decision-log` process, driven by `pytheas replay` on
// 127.0.0.1, checked against the true values computed from the trace.

#include <catch2/catch.hpp>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/trace_format.hpp"
#include "core/trace_source.hpp"
#include "test/support/http_client.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using pytheas::test::read_text_file;
using pytheas::test::run_to_completion;
using pytheas::test::TempDir;
namespace fs = std::filesystem;

namespace {

// `sessions` sessions over 10 s and 3 ASNs; cdn-a costs 100, cdn-b 115 (noise
// 10), no herding (the one load step is never exceeded), so a session's cost
// does not depend on the others' decisions: what off-policy estimates assume.
std::string generate_trace(const TempDir& dir, int sessions) {
  return pytheas::test::generate_trace(
      PYTHEAS_BINARY, dir.path().string(),
      "seed: 21\nsessions: " + std::to_string(sessions) +
          "\nduration_s: 10\nasns: 3\ngroup_spread: 0\nnoise: 10\n"
          "decisions:\n  - {name: cdn-a, cost: 100}\n  - {name: cdn-b, cost: 115}\n"
          "load:\n  default: [{share: 1, factor: 1}]\n");
}

// The trace's true mean score (-cost) of always choosing each decision.
std::map<std::string, double> true_scores(const std::string& trace) {
  auto source = pytheas::open_trace_file(trace);
  pytheas::TraceSession session;
  std::map<std::string, double> sums;
  double n = 0;
  while (source->next(session)) {
    n += 1;
    for (const auto& d : session.decisions) sums[d.decision] -= d.cost.value;
  }
  for (auto& [name, sum] : sums) sum /= n;
  return sums;
}

struct Row {
  double estimate = NAN, low = NAN, high = NAN, n_effective = 0;
  long samples = 0;
};

// summary.csv by (policy, estimator).
std::map<std::pair<std::string, std::string>, Row> read_summary(const std::string& path) {
  std::istringstream in(read_text_file(path));
  std::string line;
  std::getline(in, line);
  REQUIRE(line == "policy,kind,estimator,estimate,ci_low,ci_high,n_effective,agree,samples");
  std::map<std::pair<std::string, std::string>, Row> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    REQUIRE(cells.size() == 9);
    Row r;
    r.estimate = std::stod(cells[3]);
    r.low = std::stod(cells[4]);
    r.high = std::stod(cells[5]);
    r.n_effective = std::stod(cells[6]);
    r.samples = std::stol(cells[8]);
    rows[{cells[0], cells[2]}] = r;
  }
  return rows;
}

// The node's picks are not seeded (a live node), so this is a random test:
// the truth must lie within twice the 95% interval's half-width of the
// estimate (about 4 standard errors: fails about once in 15,000 runs).
void check_covers(const Row& row, double truth) {
  const double half = (row.high - row.low) / 2;
  INFO("estimate " << row.estimate << " [" << row.low << ", " << row.high << "], truth " << truth);
  CHECK(row.low <= row.estimate);
  CHECK(row.high >= row.estimate);
  CHECK(std::abs(row.estimate - truth) <= 2 * half);
}

std::uint64_t metric(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return ~0ull;
  return std::stoull(text.substr(at + name.size() + 2));
}

// Runs a node with a uniformly random policy and a decision log, replays
// `trace` through it with `protocol`, stops it, and returns the log dir.
std::string collect_log(const TempDir& dir, const std::string& trace, const std::string& protocol,
                        long sessions) {
  const auto labels = dir.write("labels.yaml", "grouping:\n  by: [Asn]\npolicy:\n  kind: random\n");
  const auto log_dir = dir.path_of("log-" + protocol);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, {"--labels", labels, "--decision-log",
                                                         log_dir, "--decision-log-rotate-mb", "1"});
  auto run = run_to_completion(
      {PYTHEAS_BINARY, "replay", "--trace", trace, "--url",
       "http://127.0.0.1:" + std::to_string(node.port), "--protocol", protocol, "--rps", "1500",
       "--report-delay", "0.2", "--out", dir.path_of("replay-" + protocol), "--no-plot"},
      120s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  // Every decision and report reaches the log, and /metrics says so.
  pytheas::test::HttpClient client("127.0.0.1", node.port, 5s);
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = client.get("/metrics").body;
    if (metric(metrics, R"(pytheas_decision_log_records_total{kind="report",result="written"})") ==
        static_cast<std::uint64_t>(sessions))
      break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(
      metric(metrics, R"(pytheas_decision_log_records_total{kind="decision",result="written"})") ==
      static_cast<std::uint64_t>(sessions));
  CHECK(metric(metrics, R"(pytheas_decision_log_records_total{kind="report",result="written"})") ==
        static_cast<std::uint64_t>(sessions));
  CHECK(metric(metrics, R"(pytheas_decision_log_records_total{kind="any",result="dropped"})") == 0);
  CHECK(metric(metrics, "pytheas_decision_log_bytes") > 0);
  node.process->send_signal(SIGTERM);
  REQUIRE(node.process->wait(30s) == 0);
  return log_dir;
}

}  // namespace

TEST_CASE("evaluate on a log from a live node finds the trace's true values",
          "[evaluation][live]") {
  TempDir dir("pytheas-evaluate");
  constexpr long kSessions = 3000;
  const auto trace = generate_trace(dir, kSessions);
  const auto truth = true_scores(trace);
  const double truth_random = (truth.at("cdn-a") + truth.at("cdn-b")) / 2;
  const auto log_dir = collect_log(dir, trace, "json", kSessions);

  const auto out = dir.path_of("eval");
  auto run = run_to_completion({PYTHEAS_BINARY, "evaluate", "--log", log_dir, "--policy",
                                "logged,random,fixed:cdn-a,fixed:cdn-b,ducb", "--grouping", "Asn",
                                "--out", out, "--no-plot", "--bootstrap", "400"},
                               120s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.err.find('\r') == std::string::npos);  // no progress bar on a pipe
  const auto rows = read_summary(out + "/summary.csv");
  for (const auto& [key, row] : rows) CHECK(row.samples == kSessions);

  // The logging policy (uniform) evaluated as itself: weights are all 1.
  check_covers(rows.at({"logged", "on-policy"}), truth_random);
  check_covers(rows.at({"random", "ips"}), truth_random);
  CHECK(rows.at({"random", "ips"}).n_effective == Approx(kSessions));
  for (const std::string estimator : {"ips", "snips", "dr"}) {
    INFO(estimator);
    check_covers(rows.at({"fixed:cdn-a", estimator}), truth.at("cdn-a"));
    check_covers(rows.at({"fixed:cdn-b", estimator}), truth.at("cdn-b"));
  }
  // Replay keeps the agreeing half of the sessions for a fixed target.
  CHECK(rows.at({"fixed:cdn-a", "replay"}).n_effective > 0.4 * kSessions);
  check_covers(rows.at({"fixed:cdn-a", "replay"}), truth.at("cdn-a"));
  // D-UCB learns that cdn-a is better everywhere: its replay estimate is
  // much closer to always-cdn-a than to random.
  CHECK(rows.at({"ducb", "replay"}).estimate >
        truth_random + 0.6 * (truth.at("cdn-a") - truth_random));

  const auto manifest = read_text_file(out + "/summary.json");
  CHECK(manifest.find(R"("command":"evaluate")") != std::string::npos);
  CHECK(manifest.find(R"("seed":1)") != std::string::npos);
  CHECK(manifest.find(R"("arguments":["evaluate","--log",)") != std::string::npos);
  CHECK(manifest.find(R"("samples":3000)") != std::string::npos);

  // A policy that never agrees with the log is an error; the others are still written.
  const auto out2 = dir.path_of("eval2");
  auto bad = run_to_completion({PYTHEAS_BINARY, "evaluate", "--log", log_dir, "--policy",
                                "random,fixed:cdn-z", "--out", out2, "--no-plot", "--quiet"},
                               60s);
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::Contains("pytheas: error: policy 'fixed:cdn-z' never agrees with "
                                      "the log: decision 'cdn-z' is never a candidate in it"));
  CHECK(read_summary(out2 + "/summary.csv").count({"random", "ips"}) == 1);

  // A directory without a log is an error.
  fs::create_directories(dir.path_of("empty"));
  auto empty = run_to_completion(
      {PYTHEAS_BINARY, "evaluate", "--log", dir.path_of("empty"), "--policy", "random"}, 30s);
  CHECK(empty.exit_code == 1);
  CHECK_THAT(empty.err, Catch::Contains("no decision log files (decisions-*.jsonl)"));
}

TEST_CASE("legacy updates are joined to their decisions by inference, and export to a trace",
          "[evaluation][live][legacy]") {
  TempDir dir("pytheas-evaluate");
  constexpr long kSessions = 1500;
  const auto trace = generate_trace(dir, kSessions);
  const auto log_dir = collect_log(dir, trace, "legacy", kSessions);

  const auto out = dir.path_of("eval");
  auto run = run_to_completion({PYTHEAS_BINARY, "evaluate", "--log", log_dir, "--policy",
                                "random,fixed:cdn-a", "--out", out, "--no-plot"},
                               60s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  // stdout went to /dev/null; the manifest keeps the log's counts.
  const auto manifest = read_text_file(out + "/summary.json");
  CHECK(manifest.find(R"("joined_inferred":1500)") != std::string::npos);
  CHECK(manifest.find(R"("unmatched_reports":0)") != std::string::npos);
  const auto truth = true_scores(trace);
  check_covers(read_summary(out + "/summary.csv").at({"fixed:cdn-a", "ips"}), truth.at("cdn-a"));

  // Export: every reported session, at its trace time, with the cost the
  // trace gives its chosen decision.
  const auto exported = dir.path_of("exported.trace");
  auto exp = run_to_completion(
      {PYTHEAS_BINARY, "trace", "export", "--log", log_dir, "--out", exported}, 60s);
  INFO(exp.err);
  REQUIRE(exp.exit_code == 0);
  CHECK_THAT(exp.err, Catch::Contains("exported 1500 reported session(s)"));
  CHECK_THAT(exp.err, Catch::Contains("time column: the Time feature"));
  // Sessions by all their features (time included): the cost of each decision.
  std::map<std::vector<std::string>, std::vector<std::map<std::string, double>>> original;
  {
    auto source = pytheas::open_trace_file(trace);
    pytheas::TraceSession session;
    while (source->next(session)) {
      auto& costs = original[session.features].emplace_back();
      for (const auto& d : session.decisions) costs[d.decision] = d.cost.value;
    }
  }
  auto source = pytheas::open_trace_file(exported);
  pytheas::TraceSession session;
  long count = 0, matched = 0;
  while (source->next(session)) {
    ++count;
    REQUIRE(session.decisions.size() == 1);
    CHECK(session.loads.empty());
    auto it = original.find(session.features);
    if (it == original.end()) continue;
    for (const auto& costs : it->second) {
      const auto cost = costs.find(session.decisions[0].decision);
      if (cost != costs.end() && std::abs(cost->second - session.decisions[0].cost.value) < 1e-9) {
        ++matched;
        break;
      }
    }
  }
  CHECK(count == kSessions);
  CHECK(matched == kSessions);
}
