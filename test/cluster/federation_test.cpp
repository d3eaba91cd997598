// Federation end to end: a backend and two frontends as real processes
// talking over CAF on 127.0.0.1 (see local_cluster.hpp).

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test/actors/eventually.hpp"
#include "test/cluster/local_cluster.hpp"

using namespace std::chrono_literals;
using pytheas::test::eventually;
using pytheas::test::LocalCluster;
using Json = nlohmann::json;

namespace {

const std::string kGroup = "Asn=100";
const std::string kGroupPath = "/v1/groups/Asn%3D100";

int report(LocalCluster& cluster, const std::string& node, const std::string& decision,
           double score) {
  return cluster.client(node)
      .post("/v1/report", R"({"features":{"Asn":"100"},"decision":")" + decision + R"(","score":)" +
                              std::to_string(score) + "}")
      .status;
}

/// `n` decisions among x and y on `node`; returns how many picked x (-1 if a
/// decision failed or came from no snapshot).
int picks_of_x(LocalCluster& cluster, const std::string& node, int n) {
  auto client = cluster.client(node);
  int x = 0;
  for (int i = 0; i < n; ++i) {
    auto reply = client.post("/v1/decide", R"({"features":{"Asn":"100"},"candidates":["x","y"]})");
    if (reply.status != 200) return -1;
    auto body = Json::parse(reply.body);
    if (body["policy"] == "fallback-uniform") return -1;
    x += body["decision"] == "x" ? 1 : 0;
  }
  return x;
}

std::uint64_t reports_of(LocalCluster& cluster, const std::string& node) {
  auto group = cluster.get_json(node, kGroupPath);
  return group.is_null() ? 0 : group["reports"].get<std::uint64_t>();
}

std::string owner_seen_by(LocalCluster& cluster, const std::string& node) {
  auto group = cluster.get_json(node, kGroupPath);
  if (group.is_null()) return "(none)";
  return group["owner"].is_null() ? "(here)" : group["owner"].get<std::string>();
}

/// Starts every member and waits until backend, fe-a and fe-b are linked.
void start_all_linked(LocalCluster& cluster) {
  cluster.start_all();
  REQUIRE(eventually(
      [&] {
        return cluster.sees_healthy("fe-a", "backend") && cluster.sees_healthy("fe-a", "fe-b") &&
               cluster.sees_healthy("fe-b", "backend");
      },
      15s));
}

/// Starts the cluster and makes fe-b the owner of Asn=100, where y (30) beats
/// x (10) after 100 reports of each. Returns once fe-a serves the group from
/// fe-b's pushed snapshot.
void start_with_group_on_b(LocalCluster& cluster) {
  start_all_linked(cluster);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(report(cluster, "fe-b", "x", 10) == 202);
    REQUIRE(report(cluster, "fe-b", "y", 30) == 202);
  }
  // The backend sees fe-b's sessions and gives it the group; fe-a subscribes
  // when it first decides for it and then decides from fe-b's snapshot.
  REQUIRE(eventually(
      [&] {
        cluster.client("fe-a").post("/v1/decide",
                                    R"({"features":{"Asn":"100"},"candidates":["x","y"]})");
        return owner_seen_by(cluster, "fe-a") == "fe-b" && reports_of(cluster, "fe-a") == 200;
      },
      15s));
}

}  // namespace

TEST_CASE("a report sent to A for a group B owns changes B's state and A's decisions",
          "[cluster][process]") {
  LocalCluster cluster;
  start_with_group_on_b(cluster);
  CHECK(owner_seen_by(cluster, "fe-b") == "(here)");
  // Before: y is better, and fe-a's decisions (from fe-b's snapshot) say so.
  CHECK(picks_of_x(cluster, "fe-a", 40) <= 8);

  // x now scores 100 on fe-a's sessions: (100*10 + 40*100) / 140 > 30.
  for (int i = 0; i < 40; ++i) REQUIRE(report(cluster, "fe-a", "x", 100) == 202);
  CHECK(eventually([&] { return reports_of(cluster, "fe-b") == 240; }, 10s));
  CHECK(eventually([&] { return reports_of(cluster, "fe-a") == 240; }, 10s));
  CHECK(picks_of_x(cluster, "fe-a", 40) >= 32);
  CHECK(owner_seen_by(cluster, "fe-a") == "fe-b");  // still B's: B saw more of it

  auto metrics = cluster.client("fe-b").get("/metrics").body;
  CHECK(metrics.find("pytheas_forwarded_reports_total{direction=\"in\"} 40") != std::string::npos);

  // Every member says how it groups, frontends included: before the
  // backend's learned rules reach them (if it has learned any yet), the
  // label config's grouping.
  for (const char* member : {"backend", "fe-a", "fe-b"}) {
    INFO(member);
    auto grouping = cluster.get_json(member, "/v1/grouping");
    REQUIRE(grouping.is_object());
    CHECK(grouping["by"].get<std::string>().find("Asn") != std::string::npos);
    CHECK(grouping["table_version"].get<int>() >= 1);
    if (std::string(member) != "backend")
      CHECK(grouping["mode"] == (grouping["rules"] == "" ? "labels" : "learned"));
  }
}

TEST_CASE("an event id from one member is accepted by another, once, and an altered one by none",
          "[cluster][process]") {
  LocalCluster cluster;
  start_all_linked(cluster);
  // A player's next request may reach another member behind a load balancer.
  auto decided = cluster.client("fe-a").post(
      "/v1/decide", R"({"features":{"Asn":"100"},"candidates":["x","y"]})");
  REQUIRE(decided.status == 200);
  const auto id = Json::parse(decided.body)["event_id"].get<std::string>();
  auto report_id = [&](const std::string& node, const std::string& event_id) {
    return cluster.client(node)
        .post("/v1/report", R"({"event_id":")" + event_id + R"(","score":10})")
        .status;
  };
  auto altered = id;
  altered[id.size() / 2] = altered[id.size() / 2] == 'A' ? 'B' : 'A';
  CHECK(report_id("fe-b", altered) == 404);
  CHECK(report_id("fe-a", altered) == 404);
  CHECK(report_id("fe-b", id) == 202);
  CHECK(report_id("fe-b", id) == 409);
  auto applied = [&] { return reports_of(cluster, "fe-a") + reports_of(cluster, "fe-b"); };
  CHECK(eventually([&] { return applied() >= 1; }, 10s));
  std::this_thread::sleep_for(500ms);  // time for a wrongly accepted report to show
  CHECK(reports_of(cluster, "fe-a") <= 1);
  CHECK(reports_of(cluster, "fe-b") <= 1);
}

TEST_CASE("kill -9 of the owner: A serves its groups with their learned state within 5 s",
          "[cluster][process]") {
  LocalCluster cluster;
  start_with_group_on_b(cluster);
  // Reports fe-a accepted for B's group right before the crash must survive it.
  for (int i = 0; i < 20; ++i) REQUIRE(report(cluster, "fe-a", "x", 20) == 202);

  const auto killed = std::chrono::steady_clock::now();
  cluster.kill("fe-b", SIGKILL);
  REQUIRE(eventually([&] { return owner_seen_by(cluster, "fe-a") == "(here)"; }, 5s));
  const auto failover = std::chrono::steady_clock::now() - killed;
  CHECK(failover < 5s);
  // Learned state, not a fresh group: every report applied at B, plus fe-a's 20.
  CHECK(eventually([&] { return reports_of(cluster, "fe-a") == 220; }, 5s));
  CHECK(reports_of(cluster, "fe-a") == 220);
  CHECK(picks_of_x(cluster, "fe-a", 40) <= 8);  // y still wins, as B had learned
  // And fe-a keeps learning it locally.
  CHECK(report(cluster, "fe-a", "y", 30) == 202);
  CHECK(eventually([&] { return reports_of(cluster, "fe-a") == 221; }, 5s));
  CHECK(cluster.process("fe-a").stderr_text().find(
            "took over 1 group(s) with their state from other members") != std::string::npos);

  SECTION("when B comes back, the group and A's learning go back to it") {
    cluster.start("fe-b");
    CHECK(eventually([&] { return owner_seen_by(cluster, "fe-a") == "fe-b"; }, 10s));
    CHECK(eventually([&] { return reports_of(cluster, "fe-b") == 221; }, 10s));
  }
}

TEST_CASE("/metrics: each member's links, the table per cluster and the groups it owns",
          "[cluster][process]") {
  // What packaging/prometheus/pytheas.rules.yml alerts on: summed over the
  // members, owned groups per cluster equal the table's when each has one owner.
  LocalCluster cluster;
  start_with_group_on_b(cluster);
  auto metrics = [&](const std::string& node) { return cluster.client(node).get("/metrics").body; };
  auto has = [](const std::string& text, const std::string& line) {
    return text.find(line) != std::string::npos;
  };
  // /metrics shows the status each member publishes on its next heartbeat.
  REQUIRE(eventually(
      [&] {
        const auto a = metrics("fe-a");
        return has(metrics("fe-b"), "pytheas_owned_groups{table_cluster=\"B\"} 1\n") &&
               has(a, "pytheas_owned_groups{table_cluster=\"B\"} 0\n") &&
               has(a, "pytheas_group_table_groups{table_cluster=\"B\"} 1\n");
      },
      5s));
  const auto a = metrics("fe-a");
  CHECK(has(a, R"(pytheas_peer_up{peer="fe-b",peer_role="frontend",peer_cluster="B"} 1)"));
  CHECK(has(a, R"(pytheas_peer_up{peer="backend",peer_role="backend",peer_cluster=""} 1)"));
  CHECK(has(a, "pytheas_peer_timeout_seconds 1\n"));
  CHECK_FALSE(has(a, "pytheas_regroup_last_timestamp_seconds"));  // the backend's alone
  const auto backend = metrics("backend");
  CHECK(has(backend, "pytheas_regroup_interval_seconds 1\n"));
  CHECK_FALSE(has(backend, "pytheas_owned_groups"));  // a backend owns no group
  // The backend's regroup passes go on (every second here) though the table stays.
  auto regrouped_at = [&] {
    const auto text = metrics("backend");
    const std::string name = "\npytheas_regroup_last_timestamp_seconds ";  // not # HELP
    const auto at = text.find(name);
    return at == std::string::npos ? 0.0 : std::stod(text.substr(at + name.size()));
  };
  const double first = regrouped_at();
  CHECK(first > 0);
  CHECK(eventually([&] { return regrouped_at() > first; }, 5s));

  // fe-b dies: fe-a sees its link down and, B having no member left, owns B's group.
  cluster.kill("fe-b", SIGKILL);
  CHECK(eventually(
      [&] {
        const auto m = metrics("fe-a");
        return has(m, R"(pytheas_peer_up{peer="fe-b",peer_role="frontend",peer_cluster="B"} 0)") &&
               has(m, "pytheas_owned_groups{table_cluster=\"B\"} 1\n");
      },
      5s));
}

TEST_CASE("kill -9 of the backend: both frontends keep deciding, reporting and forwarding",
          "[cluster][process]") {
  LocalCluster cluster;
  start_with_group_on_b(cluster);
  cluster.kill("backend", SIGKILL);
  REQUIRE(eventually([&] { return !cluster.sees_healthy("fe-a", "backend"); }, 5s));
  CHECK_FALSE(cluster.sees_healthy("fe-b", "backend"));
  for (int i = 0; i < 10; ++i) {
    CHECK(report(cluster, "fe-a", "x", 10) == 202);
    CHECK(report(cluster, "fe-b", "y", 30) == 202);
  }
  CHECK(picks_of_x(cluster, "fe-a", 10) >= 0);
  CHECK(picks_of_x(cluster, "fe-b", 10) >= 0);
  // The last table stays in force: fe-a's reports still reach the owner.
  CHECK(eventually([&] { return reports_of(cluster, "fe-b") == 220; }, 10s));
  CHECK(cluster.get_json("fe-a", "/v1/cluster")["table_version"].get<int>() >= 1);
  // The frontends keep trying to reach it, and get it back when it returns.
  cluster.start("backend");
  CHECK(eventually([&] { return cluster.sees_healthy("fe-a", "backend"); }, 10s));
}

TEST_CASE("a peer without the cluster secret is refused and logged", "[cluster][process]") {
  LocalCluster cluster;
  cluster.start("backend");
  cluster.start("fe-a");
  auto impostor_file = cluster.write_file("not-the-right-secret-at-all", "impostor.yaml");
  cluster.start("fe-b", impostor_file);
  // fe-b dials the backend (and fe-a dials fe-b): both handshakes fail.
  CHECK(cluster.process("backend").wait_for_line(
      "refused a peer claiming to be 'fe-b': wrong cluster secret", 10s));
  CHECK(cluster.process("fe-b").wait_for_line(
      "refused a peer claiming to be 'fe-a': wrong cluster secret", 10s));
  CHECK(cluster.process("fe-a").wait_for_line("cannot link to fe-b", 10s));
  CHECK(eventually([&] { return cluster.sees_healthy("fe-a", "backend"); }, 10s));
  std::this_thread::sleep_for(1s);
  CHECK_FALSE(cluster.sees_healthy("backend", "fe-b"));
  CHECK_FALSE(cluster.sees_healthy("fe-a", "fe-b"));
  CHECK_FALSE(cluster.sees_healthy("fe-b", "backend"));
  auto metrics = cluster.client("backend").get("/metrics").body;
  CHECK(metrics.find("pytheas_refused_peers_total 0") == std::string::npos);
  // A refused peer changes nothing: the node keeps serving.
  CHECK(report(cluster, "fe-a", "x", 1) == 202);
}

TEST_CASE("a cluster node rejects a bad cluster file or name with a clear error",
          "[cluster][process]") {
  pytheas::test::TempDir dir;
  auto bad = dir.write("bad.yaml", "secret: 0123456789abcdef0\nnodes:\n  - {name: x}\n");
  auto result = pytheas::test::run_to_completion(
      {PYTHEAS_BINARY, "node", "--cluster", bad, "--name", "x"}, 20s);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find(bad + ":3: nodes[0].role: required") != std::string::npos);

  LocalCluster cluster;
  auto unknown = pytheas::test::run_to_completion(
      {PYTHEAS_BINARY, "node", "--cluster", cluster.file(), "--name", "fe-z"}, 20s);
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("--name: 'fe-z' is not a node of") != std::string::npos);
}

namespace {
/// Runs the openssl command line; false if it is missing or fails.
bool openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    return pytheas::test::run_to_completion(argv, 60s).exit_code == 0;
  } catch (const std::exception&) {
    return false;
  }
}

/// A CA in `dir` (NAME-ca.pem) and a certificate it signed (NAME.pem, NAME.key).
bool make_ca_and_cert(const std::string& dir, const std::string& name) {
  auto p = [&](const std::string& file) { return dir + "/" + name + file; };
  return openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("-ca.key"), "-out",
                  p("-ca.pem"), "-days", "2", "-subj", "/CN=" + name + "-ca"}) &&
         openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", p(".key"), "-out", p(".csr"),
                  "-subj", "/CN=" + name}) &&
         openssl({"x509", "-req", "-in", p(".csr"), "-CA", p("-ca.pem"), "-CAkey", p("-ca.key"),
                  "-CAcreateserial", "-out", p(".pem"), "-days", "2"});
}

std::string tls_yaml(const std::string& dir, const std::string& name, const std::string& ca) {
  return "tls: {certificate: " + dir + "/" + name + ".pem, key: " + dir + "/" + name +
         ".key, ca: " + dir + "/" + ca + "-ca.pem}\n";
}
}  // namespace

TEST_CASE("with TLS, members link with certificates of the cluster's CA and refuse others",
          "[cluster][process][tls]") {
  pytheas::test::TempDir certs("pytheas-certs");
  const auto dir = certs.path().string();
  REQUIRE(make_ca_and_cert(dir, "member"));
  REQUIRE(make_ca_and_cert(dir, "stranger"));
  LocalCluster cluster(tls_yaml(dir, "member", "member"));
  cluster.start("backend");
  cluster.start("fe-a");
  CHECK(eventually([&] { return cluster.sees_healthy("fe-a", "backend"); }, 10s));
  CHECK(report(cluster, "fe-a", "x", 1) == 202);

  // Right secret, but a certificate from another CA: the TLS handshake fails.
  auto stranger = tls_yaml(dir, "stranger", "stranger");
  cluster.start("fe-b", cluster.write_file("test-cluster-secret-0123", "stranger.yaml", &stranger));
  std::this_thread::sleep_for(2s);
  CHECK_FALSE(cluster.sees_healthy("backend", "fe-b"));
  CHECK_FALSE(cluster.sees_healthy("fe-a", "fe-b"));
  CHECK(report(cluster, "fe-a", "x", 1) == 202);  // players are served throughout
  // The failed handshakes leave the other links alone (actors/node/openssl_error_queue.cpp).
  CHECK(cluster.sees_healthy("fe-a", "backend"));
  CHECK(cluster.process("fe-a").stderr_text().find("link to backend down") == std::string::npos);
}

TEST_CASE("with TLS, a member's death drops only the links to it", "[cluster][process][tls]") {
  // A dead peer leaves an error in OpenSSL's per-thread queue; CAF 0.17 does
  // not clear it, and every other TLS link of the node used to be closed with
  // it (actors/node/openssl_error_queue.cpp).
  pytheas::test::TempDir certs("pytheas-certs");
  const auto dir = certs.path().string();
  REQUIRE(make_ca_and_cert(dir, "member"));
  LocalCluster cluster(tls_yaml(dir, "member", "member"));
  start_all_linked(cluster);
  for (int i = 0; i < 20; ++i) {  // traffic on every link
    REQUIRE(report(cluster, "fe-a", "x" + std::to_string(i), 1) == 202);
    REQUIRE(report(cluster, "fe-b", "y" + std::to_string(i), 1) == 202);
  }
  cluster.kill("fe-b", SIGKILL);
  REQUIRE(eventually([&] { return !cluster.sees_healthy("fe-a", "fe-b"); }, 10s));
  for (int i = 0; i < 20; ++i) REQUIRE(report(cluster, "fe-a", "z" + std::to_string(i), 1) == 202);
  std::this_thread::sleep_for(1s);
  const auto log = cluster.process("fe-a").stderr_text();
  INFO(log);
  CHECK(log.find("link to fe-b down") != std::string::npos);
  CHECK(log.find("link to backend down") == std::string::npos);
  CHECK(cluster.sees_healthy("fe-a", "backend"));
}

TEST_CASE("grouping: learned: the backend learns the rules from samples and frontends use them",
          "[cluster][process][learned]") {
  LocalCluster cluster("grouping: learned\nlearner: {min_group_size: 30, max_depth: 2}\n");
  cluster.start_all();
  REQUIRE(eventually([&] { return cluster.sees_healthy("fe-b", "backend"); }, 15s));
  // City decides which CDN is good; Os is noise.
  auto client = cluster.client("fe-b");
  for (int i = 0; i < 400; ++i) {
    const bool boston = i % 2 == 0;
    const bool good_a = (i / 2) % 2 == 0;
    const std::string decision = good_a ? "a" : "b";
    const int score = (boston == good_a) ? 90 : 10;
    const std::string os = i % 3 == 0 ? "linux" : "ios";
    REQUIRE(client
                .post("/v1/report", R"({"features":{"Asn":"100","City":")" +
                                        std::string(boston ? "Boston" : "Miami") + R"(","Os":")" +
                                        os + R"("},"decision":")" + decision + R"(","score":)" +
                                        std::to_string(score) + "}")
                .status == 202);
  }
  Json grouping;
  REQUIRE(eventually(
      [&] {
        grouping = cluster.get_json("backend", "/v1/grouping");
        return !grouping.is_null() && grouping["regroups"].get<int>() >= 1 &&
               grouping["table_version"].get<int>() >= 1;
      },
      10s));
  CHECK(grouping["mode"] == "learned");
  const auto rules = grouping["rules"].get<std::string>();
  INFO(rules);
  CHECK(rules.find("City") != std::string::npos);
  CHECK(rules.find("Os") == std::string::npos);
  bool boston_group = false;
  for (const auto& group : grouping["groups"]) {
    if (group["name"].get<std::string>().find("City=Boston") != std::string::npos) {
      boston_group = true;
      CHECK(group["owner"] == "B");
      CHECK(group["samples"].get<int>() >= 30);
    }
  }
  CHECK(boston_group);
  // fe-a now groups by the learned rules.
  CHECK(eventually(
      [&] {
        auto reply = cluster.client("fe-a").post(
            "/v1/decide", R"({"features":{"Asn":"100","City":"Boston"},"candidates":["a","b"]})");
        return reply.status == 200 && Json::parse(reply.body)["group"].get<std::string>().find(
                                          "City=Boston") != std::string::npos;
      },
      10s));
  // Every member shows the rules it groups by.
  auto at_fe_a = cluster.get_json("fe-a", "/v1/grouping");
  REQUIRE(!at_fe_a.is_null());
  CHECK(at_fe_a["mode"] == "learned");
  CHECK(at_fe_a["rules"].get<std::string>().find("City") != std::string::npos);
}
