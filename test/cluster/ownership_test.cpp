// Group state follows its owner, with exact counts: a backend, cluster A of two
// members (fe-a1, fe-a2) and cluster B of one (fe-b), as real processes on
// 127.0.0.1. After every change of ownership (untabled -> tabled, table A ->
// B, a member leaving and coming back, a kill -9 and restart, a freeze), each
// group has exactly one owner and the owner's lifetime `reports` equals the
// reports the frontends accepted (202) for it.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "test/actors/eventually.hpp"
#include "test/cluster/local_cluster.hpp"

using namespace std::chrono_literals;
using pytheas::test::eventually;
using pytheas::test::LocalCluster;
using pytheas::test::MemberSpec;
using Json = nlohmann::json;

namespace {

const std::vector<MemberSpec> kTwoMembersInA = {
    {"backend", ""}, {"fe-a1", "A"}, {"fe-a2", "A"}, {"fe-b", "B"}};

std::string group_path(const std::string& asn) {
  return "/v1/groups/Asn%3D" + asn;
}

/// Reports by features (any member may take them), counting the 202s per ASN.
class Reporter {
 public:
  explicit Reporter(LocalCluster& cluster) : cluster_(cluster) {}

  /// `n` reports of `asn` at `node`; REQUIREs each to be accepted.
  void send(const std::string& node, const std::string& asn, int n, const std::string& decision,
            double score) {
    auto client = cluster_.client(node);
    for (int i = 0; i < n; ++i) {
      pytheas::test::HttpReply reply;
      try {
        reply =
            client.post("/v1/report", R"({"features":{"Asn":")" + asn + R"("},"decision":")" +
                                          decision + R"(","score":)" + std::to_string(score) + "}");
      } catch (const std::exception& e) {
        FAIL(node << ": " << e.what() << "; its log:\n" << cluster_.process(node).stderr_text());
      }
      REQUIRE(reply.status == 202);
      ++accepted_[asn];
    }
  }

  const std::map<std::string, std::uint64_t>& accepted() const { return accepted_; }

 private:
  LocalCluster& cluster_;
  std::map<std::string, std::uint64_t> accepted_;
};

/// The frontends that serve `asn`'s group from their own state (owner null).
std::vector<std::string> local_owners(LocalCluster& cluster, const std::string& asn) {
  std::vector<std::string> out;
  for (const auto& node : cluster.frontends()) {
    auto group = cluster.get_json(node, group_path(asn));
    if (!group.is_null() && group["owner"].is_null()) out.push_back(node);
  }
  return out;
}

std::uint64_t reports_at(LocalCluster& cluster, const std::string& node, const std::string& asn) {
  auto group = cluster.get_json(node, group_path(asn));
  return group.is_null() ? 0 : group["reports"].get<std::uint64_t>();
}

/// Whether every group has exactly one owner whose count is what was accepted.
bool counts_add_up(LocalCluster& cluster, const Reporter& reporter, std::string* why) {
  for (const auto& [asn, accepted] : reporter.accepted()) {
    auto owners = local_owners(cluster, asn);
    if (owners.size() != 1) {
      *why = "Asn=" + asn + ": " + std::to_string(owners.size()) + " owners";
      return false;
    }
    auto applied = reports_at(cluster, owners[0], asn);
    if (applied != accepted) {
      *why = "Asn=" + asn + ": owner " + owners[0] + " applied " + std::to_string(applied) +
             " of " + std::to_string(accepted);
      return false;
    }
  }
  return true;
}

/// The last lines each member logged: what a failed count check prints, so
/// a failure seen once (e.g. in CI) can be read afterwards.
std::string log_tails(LocalCluster& cluster, std::size_t lines = 30) {
  std::string out;
  for (const auto& name : cluster.names()) {
    const auto log = cluster.process(name).stderr_text();
    // The start of the last `lines` lines (the whole log when shorter).
    std::size_t start = log.size();
    for (std::size_t n = 0; n <= lines; ++n) {
      if (start == 0) break;
      start = log.rfind('\n', start - 1);
      if (start == std::string::npos) break;
    }
    start = (start == std::string::npos || start == 0) ? 0 : start + 1;
    out += "--- " + name + " (last lines)\n" + log.substr(start) + "\n";
  }
  return out;
}

void wait_linked(LocalCluster& cluster) {
  REQUIRE(eventually(
      [&] {
        for (const auto& a : cluster.names())
          for (const auto& b : cluster.names())
            if (a != b && !(a == "backend" && b == "backend") && !cluster.sees_healthy(a, b))
              return false;
        return true;
      },
      15s));
}

#define REQUIRE_COUNTS(cluster, reporter, within)                                         \
  do {                                                                                    \
    std::string why;                                                                      \
    bool ok = eventually([&] { return counts_add_up(cluster, reporter, &why); }, within); \
    INFO(why);                                                                            \
    INFO((ok ? std::string() : log_tails(cluster)));                                      \
    REQUIRE(ok);                                                                          \
  } while (false)

/// ASNs spread over both members of A (rendezvous): a few owned by each.
std::vector<std::string> asns(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("AS" + std::to_string(100 + i));
  return out;
}

}  // namespace

TEST_CASE("untabled groups have one owner per seeing cluster, and pins need no table",
          "[cluster][process][ownership]") {
  LocalCluster cluster("pin:\n  \"Asn=AS9*\": A\n", "test-cluster-secret-0123", kTwoMembersInA);
  // The backend never regroups here: every group stays out of the table.
  cluster.set_federation(
      "{heartbeat_interval_s: 0.1, peer_timeout_s: 1, sample_rate: 1, regroup_interval_s: 1000, "
      "snapshot_push_interval_s: 0.05, reconnect_max_backoff_s: 0.5, forward_timeout_s: 1}");
  cluster.start_all();
  wait_linked(cluster);
  Reporter a(cluster);
  // Both members of A see AS100: one of them owns it, with both members' reports.
  a.send("fe-a1", "AS100", 80, "x", 10);
  a.send("fe-a2", "AS100", 80, "x", 10);
  REQUIRE_COUNTS(cluster, a, 10s);
  auto owner = local_owners(cluster, "AS100");
  CHECK((owner[0] == "fe-a1" || owner[0] == "fe-a2"));

  // B sees it too: B owns a copy of its own (untabled groups stay where they
  // are seen), which starts from what A learned so far (A lends it a copy;
  // the report marks keep both copies from counting a report twice later).
  CHECK(reports_at(cluster, "fe-b", "AS100") == 0);
  Reporter b(cluster);
  b.send("fe-b", "AS100", 50, "y", 20);
  CHECK(eventually([&] { return reports_at(cluster, "fe-b", "AS100") == 160 + 50; }, 10s));
  CHECK(reports_at(cluster, owner[0], "AS100") == 160);

  // A pinned group belongs to A whoever sees it, with no table.
  Reporter pinned(cluster);
  pinned.send("fe-b", "AS950", 100, "x", 5);
  REQUIRE_COUNTS(cluster, pinned, 10s);
  auto pinned_owner = local_owners(cluster, "AS950");
  CHECK((pinned_owner[0] == "fe-a1" || pinned_owner[0] == "fe-a2"));
  // fe-b decides for it from the owner's pushed state.
  CHECK(eventually(
      [&] {
        cluster.client("fe-b").post("/v1/decide",
                                    R"({"features":{"Asn":"AS950"},"candidates":["x","y"]})");
        auto group = cluster.get_json("fe-b", group_path("AS950"));
        return !group.is_null() && group["owner"] == pinned_owner[0] && group["reports"] == 100;
      },
      10s));
}

TEST_CASE("a group seen first by B follows the table to A with all its reports",
          "[cluster][process][ownership]") {
  LocalCluster cluster({}, "test-cluster-secret-0123", kTwoMembersInA);
  cluster.start_all();
  wait_linked(cluster);
  Reporter reporter(cluster);
  const auto groups = asns(6);
  for (const auto& asn : groups) reporter.send("fe-b", asn, 100, "x", 10);
  // The table gives them to B (it saw them)...
  REQUIRE_COUNTS(cluster, reporter, 10s);
  for (const auto& asn : groups)
    CHECK(local_owners(cluster, asn) == std::vector<std::string>{"fe-b"});
  // ... then A sees far more of them: the table moves them to A, state and all.
  for (const auto& asn : groups) {
    reporter.send("fe-a1", asn, 150, "y", 20);
    reporter.send("fe-a2", asn, 150, "y", 20);
  }
  std::string seen;
  const bool moved = eventually(
      [&] {
        seen.clear();
        bool all = true;
        for (const auto& asn : groups) {
          auto owners = local_owners(cluster, asn);
          seen += asn + ":";
          for (const auto& owner : owners) seen += " " + owner;
          seen += "; ";
          if (owners.size() != 1 || owners[0] == "fe-b") all = false;
        }
        return all;
      },
      20s);
  INFO("owners: " << seen << "\ntable at fe-b: " << cluster.get_json("fe-b", "/v1/cluster").dump());
  REQUIRE(moved);
  REQUIRE_COUNTS(cluster, reporter, 10s);
  std::map<std::string, int> per_member;
  for (const auto& asn : groups) ++per_member[local_owners(cluster, asn).at(0)];
  INFO("fe-a1 owns " << per_member["fe-a1"] << ", fe-a2 owns " << per_member["fe-a2"]);
  CHECK(per_member["fe-a1"] + per_member["fe-a2"] == static_cast<int>(groups.size()));
}

TEST_CASE("a member leaving and coming back moves its groups with exact counts",
          "[cluster][process][ownership]") {
  LocalCluster cluster("pin:\n  \"Asn=*\": A\n", "test-cluster-secret-0123", kTwoMembersInA);
  cluster.start_all();
  wait_linked(cluster);
  Reporter reporter(cluster);
  const auto groups = asns(8);
  for (const auto& asn : groups) reporter.send("fe-b", asn, 40, "x", 10);
  REQUIRE_COUNTS(cluster, reporter, 10s);
  std::vector<std::string> on_a1;
  for (const auto& asn : groups)
    if (local_owners(cluster, asn) == std::vector<std::string>{"fe-a1"}) on_a1.push_back(asn);
  REQUIRE(!on_a1.empty());

  cluster.kill("fe-a1", SIGTERM);  // a graceful leave: it hands its groups over
  for (const auto& asn : groups) reporter.send("fe-b", asn, 10, "y", 30);
  REQUIRE_COUNTS(cluster, reporter, 10s);
  for (const auto& asn : on_a1)
    CHECK(local_owners(cluster, asn) == std::vector<std::string>{"fe-a2"});

  cluster.start("fe-a1");
  wait_linked(cluster);
  for (const auto& asn : groups) reporter.send("fe-a2", asn, 5, "y", 30);
  REQUIRE_COUNTS(cluster, reporter, 15s);
  for (const auto& asn : on_a1)
    CHECK(local_owners(cluster, asn) == std::vector<std::string>{"fe-a1"});
}

TEST_CASE("kill -9 of a member and its restart: one owner, nothing lost or applied twice",
          "[cluster][process][ownership]") {
  LocalCluster cluster("pin:\n  \"Asn=*\": A\n", "test-cluster-secret-0123", kTwoMembersInA);
  cluster.use_state_dirs();
  cluster.set_node_args({"--wal", "always"});
  cluster.start_all();
  wait_linked(cluster);
  Reporter reporter(cluster);
  const auto groups = asns(8);
  for (const auto& asn : groups) {
    reporter.send("fe-a1", asn, 20, "x", 10);
    reporter.send("fe-b", asn, 20, "x", 10);
  }
  REQUIRE_COUNTS(cluster, reporter, 10s);
  cluster.kill("fe-a1", SIGKILL);
  for (const auto& asn : groups) reporter.send("fe-b", asn, 15, "y", 30);
  // While it is down its groups have one owner, fe-a2, which has everything
  // but what fe-a1 had accepted itself (that is in fe-a1's log, not lost).
  REQUIRE(eventually(
      [&] {
        for (const auto& asn : groups) {
          auto owners = local_owners(cluster, asn);
          if (owners.size() != 1 || owners[0] == "fe-a1") return false;
          if (reports_at(cluster, owners[0], asn) > reporter.accepted().at(asn)) return false;
        }
        return true;
      },
      10s));

  cluster.start("fe-a1");
  wait_linked(cluster);
  for (const auto& asn : groups) reporter.send("fe-a1", asn, 5, "y", 30);
  REQUIRE_COUNTS(cluster, reporter, 15s);
}

TEST_CASE("a frozen member is taken over, and on resume each group has one owner and exact counts",
          "[cluster][process][ownership]") {
  LocalCluster cluster("pin:\n  \"Asn=*\": A\n", "test-cluster-secret-0123", kTwoMembersInA);
  cluster.use_state_dirs();
  cluster.start_all();
  wait_linked(cluster);
  Reporter reporter(cluster);
  const auto groups = asns(8);
  for (const auto& asn : groups) reporter.send("fe-a1", asn, 20, "x", 10);
  REQUIRE_COUNTS(cluster, reporter, 10s);

  cluster.process("fe-a1").send_signal(SIGSTOP);
  // Beyond peer_timeout_s (1 s): the others take its groups over and go on.
  REQUIRE(eventually([&] { return !cluster.sees_healthy("fe-a2", "fe-a1"); }, 5s));
  for (const auto& asn : groups) reporter.send("fe-b", asn, 10, "y", 30);
  for (const auto& asn : groups) reporter.send("fe-a2", asn, 10, "y", 30);
  std::this_thread::sleep_for(1s);
  cluster.process("fe-a1").send_signal(SIGCONT);
  wait_linked(cluster);
  for (const auto& asn : groups) reporter.send("fe-a1", asn, 5, "y", 30);
  REQUIRE_COUNTS(cluster, reporter, 15s);
}
