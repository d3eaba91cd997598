// A node keeps applying every report it accepts while it regroups under load
// (issue #31): a real `pytheas node` process with the default label config's
// learning (only its clock sped up), fed decisions and reports from several
// connections at once, first with scores that no feature explains (the
// learner merges the 40 ASN groups into one), then with scores the City
// decides (it splits on City). Between and after the regroups the learner
// keeps learning the same rules, which is what once stopped the node: its
// supervisor died of an answer nobody expected, and every later report was
// accepted and never applied while decisions kept coming.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test/actors/eventually.hpp"
#include "test/support/http_client.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using Json = nlohmann::json;
using pytheas::test::eventually;

namespace {

/// The value of the Prometheus text line `name value` (0 if absent).
double metric(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::stod(text.substr(at + name.size() + 2));
}

struct Counts {
  double accepted = 0, applied = 0, depth = 0, lost = 0, stalls = 0;
};

Counts counts(pytheas::test::HttpClient& client) {
  const auto text = client.get("/metrics").body;
  return Counts{
      metric(text, R"(pytheas_reports_total{result="accepted"})"),
      metric(text, "pytheas_reports_applied_total"), metric(text, "pytheas_report_queue_depth"),
      metric(text, "pytheas_reports_lost_total"), metric(text, "pytheas_group_stalls_total")};
}

/// Decisions and reports from `threads` connections until `stop`: 40 ASNs ×
/// 3 cities; cdn-a is best in City c0 when `by_city`, else no CDN is.
/// Counts answers other than 200/202 in `bad`.
class Load {
 public:
  Load(unsigned short port, int threads) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([this, port, t] { run(port, t); });
  }
  ~Load() { stop(); }
  void by_city(bool on) { by_city_ = on; }
  void stop() {
    stop_ = true;
    for (auto& worker : workers_)
      if (worker.joinable()) worker.join();
  }
  int bad() const { return bad_; }
  int reports() const { return reports_; }

 private:
  void run(unsigned short port, int seed) {
    pytheas::test::HttpClient client("127.0.0.1", port, 10s);
    std::mt19937 rng(1000 + seed);
    std::uniform_int_distribution<int> asn(1, 40), city(0, 2), cdn(0, 2), kind(0, 9);
    const char* cdns[] = {"cdn-a", "cdn-b", "cdn-c"};
    while (!stop_) {
      const auto features = "{\"Asn\":\"AS" + std::to_string(asn(rng)) + "\",\"City\":\"c" +
                            std::to_string(city(rng)) + "\"}";
      if (kind(rng) < 4) {
        auto reply = client.post("/v1/decide", R"({"features":)" + features +
                                                   R"(,"candidates":["cdn-a","cdn-b","cdn-c"]})");
        if (reply.status != 200) ++bad_;
        continue;
      }
      const int pick = cdn(rng);
      const bool good =
          by_city_ ? (features.find("\"c0\"") != std::string::npos) == (pick == 0) : rng() % 2 == 0;
      auto reply =
          client.post("/v1/report", R"({"features":)" + features + R"(,"decision":")" + cdns[pick] +
                                        R"(","score":)" + (good ? "4.5" : "1.5") + "}");
      if (reply.status == 202)
        ++reports_;
      else
        ++bad_;
    }
  }

  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> by_city_{false};
  std::atomic<int> bad_{0};
  std::atomic<int> reports_{0};
};

/// Waits for `n` more learns (whatever they changed) after the current one.
bool learns(pytheas::test::HttpClient& client, int n, std::chrono::seconds limit) {
  const auto first = Json::parse(client.get("/v1/grouping").body)["learned_at"].get<double>();
  double last = first;
  int seen = 0;
  return eventually(
      [&] {
        const auto at = Json::parse(client.get("/v1/grouping").body)["learned_at"].get<double>();
        if (at != last) {
          last = at;
          ++seen;
        }
        return seen >= n;
      },
      limit);
}

}  // namespace

TEST_CASE("a node applies every accepted report across regroups under load",
          "[node][process][learning][regroup]") {
  pytheas::test::TempDir dir("pytheas-regroup-load");
  // The default label config's learning; only its clock is faster than 30 s.
  auto labels =
      dir.write("labels.yaml", "grouping:\n  regroup_interval_s: 1\n  min_samples: 2000\n");
  auto node = pytheas::test::start_node(
      PYTHEAS_BINARY, {"--labels", labels, "--state-dir", (dir.path() / "state").string()});
  pytheas::test::HttpClient client("127.0.0.1", node.port, 10s);

  Load load(node.port, 4);
  // Scores no feature explains: the 40 ASN groups merge into one...
  REQUIRE(eventually(
      [&] { return Json::parse(client.get("/v1/grouping").body)["regroups"].get<int>() >= 1; },
      60s));
  CHECK(Json::parse(client.get("/v1/grouping").body)["groups"].size() == 1);
  // ...and the learner keeps finding the same rules (the learns that once
  // stopped the supervisor), while reports keep being applied.
  REQUIRE(learns(client, 3, 30s));
  const auto merged = counts(client);
  CHECK(merged.applied > 0);

  // Scores the City decides: it splits on City, and learns on.
  load.by_city(true);
  REQUIRE(eventually(
      [&] {
        auto grouping = Json::parse(client.get("/v1/grouping").body);
        return grouping["regroups"].get<int>() >= 2 &&
               grouping["rules"].get<std::string>().find("City") != std::string::npos;
      },
      60s));
  REQUIRE(learns(client, 3, 30s));
  CHECK(counts(client).applied > merged.applied);
  load.stop();
  INFO("reports sent: " << load.reports());
  CHECK(load.bad() == 0);

  // Every accepted report is applied, and the queue empties, within seconds.
  Counts end;
  CHECK(eventually(
      [&] {
        end = counts(client);
        return end.depth == 0 && end.applied == end.accepted;
      },
      5s));
  INFO("accepted " << end.accepted << ", applied " << end.applied << ", queued " << end.depth);
  CHECK(end.depth == 0);
  CHECK(end.applied == end.accepted);
  CHECK(end.accepted >= load.reports());
  CHECK(end.lost == 0);
  CHECK(end.stalls == 0);
  CHECK(client.get("/readyz").status == 200);
}
