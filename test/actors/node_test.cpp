// The node facade as the HTTP layer uses it: decide, report by event id or by
// features, persistence across a whole-node restart, overload, and many
// threads deciding while reports flow (this test is also run under TSan).

#include "actors/node/node.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "core/errors.hpp"
#include "test/actors/eventually.hpp"
#include "test/support/temp_dir.hpp"

using namespace pytheas;
using pytheas::test::eventually;
using pytheas::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Feature values in the original schema's order with Asn (index 4) set.
struct Session {
  std::vector<std::string> values = std::vector<std::string>(15);
  std::vector<std::string_view> view;
  explicit Session(const std::string& asn, const std::string& city = "") {
    values[4] = asn;
    values[5] = city;
    view.assign(values.begin(), values.end());
  }
  FeatureView features() const { return view; }
};

const std::vector<std::string_view> kCandidates = {"cdn-a", "cdn-b", "cdn-c"};

}  // namespace

TEST_CASE("first decision falls back to uniform, then the group's policy serves", "[node]") {
  Node node({});
  node.start();
  Session s("7922");
  auto first = node.decide({s.features(), kCandidates, ""});
  CHECK(first.group == "Asn=7922");
  CHECK(first.policy == "fallback-uniform");
  CHECK(first.propensity == Approx(1.0 / 3));
  CHECK(first.index < 3);
  REQUIRE(eventually([&] {
    return node.decide({s.features(), kCandidates, ""}).policy == "ducb";
  }));
  CHECK(node.stats().active_groups == 1);
  node.stop();
}

TEST_CASE("reports by event id are joined, once", "[node]") {
  Node node({});
  node.start();
  Session s("1");
  auto d = node.decide({s.features(), kCandidates, ""});
  CHECK(node.report_event(d.event_id, 5.0) == ReportStatus::accepted);
  CHECK(node.report_event(d.event_id, 5.0) == ReportStatus::duplicate);
  CHECK(node.report_event("ffffffffffffffff", 5.0) == ReportStatus::unknown_event);
  CHECK_THROWS_AS(node.report_event(d.event_id, std::nan("")), InvalidInput);
  CHECK_THROWS_AS(node.report_event(d.event_id, INFINITY), InvalidInput);
  REQUIRE(eventually([&] { return node.stats().reports_applied == 1; }));
  auto info = node.group("Asn=1");
  REQUIRE(info);
  CHECK(info->reports == 1);
  REQUIRE(info->snapshot);
  bool found = false;
  for (const auto& arm : info->snapshot->arms()) found |= arm.name == kCandidates[d.index];
  CHECK(found);
}

TEST_CASE("bad decide and report input is rejected with InvalidInput", "[node]") {
  Node node({});
  node.start();
  Session s("1");
  std::vector<std::string_view> none;
  std::vector<std::string_view> dup = {"a", "a"};
  CHECK_THROWS_AS(node.decide({s.features(), none, ""}), InvalidInput);
  CHECK_THROWS_AS(node.decide({s.features(), dup, ""}), InvalidInput);
  CHECK_THROWS_AS(node.report({s.features(), "", 1.0}), InvalidInput);
  CHECK_THROWS_AS(node.report({s.features(), "a", std::nan("")}), InvalidInput);
  std::vector<std::string_view> short_features(3);
  CHECK_THROWS_AS(node.decide({short_features, kCandidates, ""}), InvalidInput);
}

TEST_CASE("the policy learns the best decision through the node", "[node]") {
  Node node({});
  node.start();
  Session s("42");
  // cdn-b is clearly best. Report every decision's QoE and let the group learn.
  std::map<std::string, int> late_picks;
  for (int i = 0; i < 3000; ++i) {
    auto d = node.decide({s.features(), kCandidates, ""});
    auto choice = std::string(kCandidates[d.index]);
    double score = choice == "cdn-b" ? 5.0 : (choice == "cdn-a" ? 2.0 : 1.0);
    REQUIRE(node.report_event(d.event_id, score) == ReportStatus::accepted);
    if (i >= 2000) late_picks[choice]++;
    if (i % 50 == 0) REQUIRE(eventually([&] { return node.stats().queue_depth == 0; }));
  }
  INFO("cdn-a " << late_picks["cdn-a"] << " cdn-b " << late_picks["cdn-b"] << " cdn-c "
                << late_picks["cdn-c"]);
  CHECK(late_picks["cdn-b"] > 700);  // > 70% of the last 1000
}

TEST_CASE("a whole-node restart resumes every group from disk", "[node][persistence]") {
  TempDir dir;
  NodeOptions options;
  options.state_dir = (dir.path() / "state").string();
  std::map<std::string, std::uint64_t> reports;
  {
    Node node(options);
    node.start();
    for (int g = 0; g < 30; ++g) {
      Session s(std::to_string(g));
      for (int i = 0; i <= g; ++i) {
        auto d = node.decide({s.features(), kCandidates, ""});
        REQUIRE(node.report_event(d.event_id, 1.0 + g) == ReportStatus::accepted);
      }
      reports["Asn=" + std::to_string(g)] = static_cast<std::uint64_t>(g + 1);
    }
    node.stop();  // drains, then persists every group
  }
  Node restarted(options);
  restarted.start();
  CHECK(restarted.ready());
  auto groups = restarted.groups();
  REQUIRE(groups.size() == 30);
  for (auto& info : groups) {
    INFO(info.key);
    CHECK(info.reports == reports[info.key]);
    REQUIRE(info.snapshot);
    CHECK_FALSE(info.snapshot->arms().empty());
  }
}

TEST_CASE("overload is explicit: reports beyond the queue are refused, none lost", "[node]") {
  TempDir dir;
  NodeOptions options;
  options.labels_file = dir.write("labels.yaml", "limits: {report_queue: 1}\n");
  Node node(options);
  node.start();
  Session s("5");
  int accepted = 0, refused = 0;
  // Bounded, but long enough that a busy box (this thread preempted while
  // the actors drain the one-slot queue) still sees the queue full.
  for (int i = 0; i < 20000 || (refused == 0 && i < 500000); ++i) {
    auto status = node.report({s.features(), "cdn-a", 1.0});
    (status == ReportStatus::accepted ? accepted : refused)++;
    if (status != ReportStatus::accepted) CHECK(status == ReportStatus::overloaded);
  }
  CHECK(refused > 0);
  CHECK(accepted > 0);
  REQUIRE(eventually(
      [&] { return node.stats().reports_applied == static_cast<std::uint64_t>(accepted); }));
  CHECK(node.stats().queue_depth == 0);
}

TEST_CASE("reload from the labels file regroups at run time", "[node][reload]") {
  TempDir dir;
  NodeOptions options;
  options.labels_file = dir.write("labels.yaml", "grouping: {by: [Asn]}\n");
  Node node(options);
  node.start();
  Session s("7922", "Boston");
  CHECK(node.decide({s.features(), kCandidates, ""}).group == "Asn=7922");
  dir.write("labels.yaml", "grouping: {by: [Asn, City]}\n");
  std::string message;
  REQUIRE(node.reload(message));
  CHECK(node.decide({s.features(), kCandidates, ""}).group == "Asn=7922;City=Boston");
  REQUIRE(eventually([&] { return !node.group("Asn=7922"); }));  // retired
  dir.write("labels.yaml", "grouping: {by: [Planet]}\n");
  CHECK_FALSE(node.reload(message));
  CHECK(message.find("Planet") != std::string::npos);
  CHECK(node.decide({s.features(), kCandidates, ""}).group == "Asn=7922;City=Boston");
}

TEST_CASE("many threads decide while reports flow", "[node][concurrency]") {
  Node node({});
  node.start();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> decisions{0};
  std::atomic<std::uint64_t> bad{0};  // Catch2 assertions are not thread-safe: count, check later
  std::vector<std::thread> deciders;
  for (int t = 0; t < 3; ++t)
    deciders.emplace_back([&, t] {
      Session s(std::to_string(t % 2));
      while (!stop) {
        auto d = node.decide({s.features(), kCandidates, ""});
        if (d.index >= kCandidates.size() || !(d.propensity > 0) || d.propensity > 1) ++bad;
        ++decisions;
      }
    });
  std::uint64_t sent = 0;
  for (int i = 0; i < 20000; ++i) {
    Session s(std::to_string(i % 2));
    if (node.report({s.features(), kCandidates[static_cast<std::size_t>(i % 3)], i % 3 * 1.0}) ==
        ReportStatus::accepted)
      ++sent;
  }
  bool applied =
      eventually([&] { return node.stats().reports_applied == sent; }, std::chrono::seconds(60));
  stop = true;  // join before any REQUIRE can throw past running threads
  for (auto& d : deciders) d.join();
  REQUIRE(applied);
  CHECK(decisions > 0);
  CHECK(bad == 0);
  std::uint64_t counted = 0;
  for (auto& g : node.groups()) counted += g.reports;
  CHECK(counted == sent);
  node.stop();
}

TEST_CASE("an altered or foreign event id is refused and changes no group", "[node]") {
  Node node({});
  node.start();
  Session s("1");
  auto d = node.decide({s.features(), kCandidates, ""});
  // Point the id at another group and decision by hand: the signature no
  // longer matches, whichever character changed.
  for (std::size_t at : {std::size_t{3}, d.event_id.size() / 2, d.event_id.size() - 2}) {
    auto altered = d.event_id;
    altered[at] = altered[at] == 'A' ? 'B' : 'A';
    CHECK(node.report_event(altered, 5.0) == ReportStatus::unknown_event);
  }
  Node other({});  // another node: another key
  other.start();
  auto foreign = other.decide({s.features(), kCandidates, ""});
  const auto forged_before = node.stats().events_forged;
  CHECK(node.report_event(foreign.event_id, 5.0) == ReportStatus::unknown_event);
  CHECK(node.stats().events_forged == forged_before + 1);  // well formed, wrong key
  CHECK(node.stats().reports_applied == 0);
  // The genuine id still counts, once.
  CHECK(node.report_event(d.event_id, 5.0) == ReportStatus::accepted);
  REQUIRE(eventually([&] { return node.stats().reports_applied == 1; }));
  CHECK(node.group("Asn=1")->reports == 1);
}

TEST_CASE("a decision without an event id leaves the journal alone", "[node]") {
  Node node({});
  node.start();
  Session s("3");
  DecideRequest request{s.features(), kCandidates, ""};
  request.issue_event_id = false;
  auto d = node.decide(request);
  CHECK(d.event_id.empty());
  CHECK(d.index < kCandidates.size());
  CHECK(node.report({s.features(), kCandidates[d.index], 1.0}) == ReportStatus::accepted);
  REQUIRE(eventually([&] { return node.stats().reports_applied == 1; }));
}

// A stalled group makes the node unready, with the reason, until it moves
// again (/readyz answers 503 with this reason): a load balancer routes players
// away from a node that accepts reports it does not apply.
TEST_CASE("a stalled group makes the node unready until it applies again", "[node][stall]") {
  NodeOptions options;
  options.stall_after_s = 0.5;
  Node node(options);
  node.start();
  Session s("5");
  REQUIRE(node.report({s.features(), "cdn-a", 1.0}) == ReportStatus::accepted);
  REQUIRE(eventually([&] { return node.stats().queue_depth == 0; }));
  CHECK(node.ready());
  node.stall_group_for_test("Asn=5", 3);
  for (int i = 0; i < 5; ++i)
    REQUIRE(node.report({s.features(), "cdn-b", 2.0}) == ReportStatus::accepted);
  REQUIRE(eventually([&] { return !node.ready(); }, std::chrono::seconds(5)));
  const auto why = node.unready_reason();
  CHECK(why.find("stalled: group Asn=5") != std::string::npos);
  CHECK(node.stats().stalled_groups == 1);
  REQUIRE(eventually([&] { return node.ready(); }, std::chrono::seconds(10)));
  CHECK(node.stats().queue_depth == 0);
  CHECK(node.stats().reports_applied == 6);
  CHECK(node.stats().reports_lost == 0);
  CHECK(node.stats().stalls == 1);
}
