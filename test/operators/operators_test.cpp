// What an operator relies on, on real processes: the admin routes behind a
// real nginx reverse proxy on the same host (docs/OPERATIONS.md, "Running
// behind a proxy"), and reloads (SIGHUP) that do what the reload table says:
// every key takes effect, or the reload is refused with FILE:LINE: FIELD.

#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "test/actors/eventually.hpp"
#include "test/cluster/local_cluster.hpp"  // free_port
#include "test/support/http_client.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using Json = nlohmann::json;
using pytheas::test::ChildProcess;
using pytheas::test::eventually;
using pytheas::test::HttpClient;
using pytheas::test::TempDir;

namespace {

constexpr const char* kDecide = R"({"features":{"Asn":"AS7","City":"Boston"},)"
                                R"("candidates":["cdn-a","cdn-b"]})";

/// The nginx binary: on PATH or in the sbin directories Debian installs it
/// to (ChildProcess does not search PATH). Never skipped: scripts/deps
/// installs nginx wherever tests run.
std::string nginx_binary() {
  std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/sbin:/usr/local/sbin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const auto end = std::min(dirs.find(':', start), dirs.size());
    const auto candidate = std::filesystem::path(dirs.substr(start, end - start)) / "nginx";
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  FAIL("nginx is not installed (scripts/deps installs it)");
  return {};
}

/// nginx on its own free loopback port, in front of the node at
/// `node_port`: one plain `proxy_pass` server (nginx's defaults add no
/// forwarding header) and one that sets X-Forwarded-For, as most guides say.
/// One process (master_process off), so killing it leaves nothing behind.
struct Nginx {
  TempDir dir{"pytheas-nginx"};
  unsigned short plain = pytheas::test::free_port();
  unsigned short forwarding = pytheas::test::free_port();
  std::unique_ptr<ChildProcess> process;

  explicit Nginx(unsigned short node_port) {
    std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
    const auto ng = dir.path().string();
    const auto upstream = "http://127.0.0.1:" + std::to_string(node_port);
    const std::string conf =
        std::string(::geteuid() == 0 ? "user root;\n" : "") +
        "master_process off;\ndaemon off;\npid " + ng + "/nginx.pid;\nerror_log " + ng +
        "/error.log notice;\nevents { worker_connections 64; }\n"
        "http {\n  access_log off;\n"
        "  client_body_temp_path " +
        ng + "/body;\n  proxy_temp_path " + ng + "/proxy;\n  fastcgi_temp_path " + ng +
        "/fastcgi;\n  uwsgi_temp_path " + ng + "/uwsgi;\n  scgi_temp_path " + ng +
        "/scgi;\n"
        "  server {\n    listen 127.0.0.1:" +
        std::to_string(plain) + ";\n    location / { proxy_pass " + upstream +
        "; }\n  }\n"
        "  server {\n    listen 127.0.0.1:" +
        std::to_string(forwarding) + ";\n    location / {\n      proxy_pass " + upstream +
        ";\n      proxy_set_header X-Forwarded-For "
        "$proxy_add_x_forwarded_for;\n    }\n  }\n}\n";
    const auto path = dir.write("nginx.conf", conf);
    process = std::make_unique<ChildProcess>(
        std::vector<std::string>{nginx_binary(), "-p", ng, "-c", path, "-e", ng + "/error.log"});
    for (auto port : {plain, forwarding}) {
      const bool up = eventually(
          [&] {
            try {
              return HttpClient("127.0.0.1", port, 1s).get("/livez").status == 200;
            } catch (const std::exception&) {
              return false;
            }
          },
          15s);
      if (!up)
        FAIL("nginx did not answer on port " << port << "; its stderr:\n"
                                             << process->stderr_text() << "\nerror log:\n"
                                             << pytheas::test::read_text_file(ng + "/error.log"));
    }
  }
};

int status_of(HttpClient& client, const std::string& target, const std::string& token = "") {
  std::map<std::string, std::string> headers;
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return client.request("GET", target, "", "text/plain", headers).status;
}

Json grouping_of(HttpClient& client) {
  auto reply = client.get("/v1/grouping");
  REQUIRE(reply.status == 200);
  return Json::parse(reply.body);
}

/// `n` reports per city, where the city decides the better CDN (a split a
/// learner finds).
void report_cities(HttpClient& client, int n) {
  for (int i = 0; i < n; ++i) {
    for (const char* city : {"Boston", "Miami"}) {
      const bool a = i % 2 == 0;
      const bool good = (std::string(city) == "Boston") == a;
      const std::string body = std::string(R"({"features":{"Asn":"AS7","City":")") + city +
                               R"("},"decision":")" + (a ? "cdn-a" : "cdn-b") + R"(","score":)" +
                               (good ? "90" : "10") + "}";
      REQUIRE(client.post("/v1/report", body).status == 202);
    }
  }
}

std::string group_of_decision(HttpClient& client) {
  auto reply = client.post("/v1/decide", kDecide);
  REQUIRE(reply.status == 200);
  return Json::parse(reply.body)["group"].get<std::string>();
}

/// Rewrites the label file, sends SIGHUP and waits for the node's verdict
/// line; returns it.
std::string reload(ChildProcess& node, TempDir& dir, const std::string& labels) {
  dir.write("labels.yaml", labels);
  node.send_signal(SIGHUP);
  auto line = node.wait_for_line("SIGHUP: ", 10s);
  REQUIRE(line);
  return *line;
}

}  // namespace

TEST_CASE("behind nginx on the same host the admin routes need the token, player routes do not",
          "[operators][proxy][process]") {
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, {"--admin-token", "s3cret"});
  Nginx nginx(node.port);
  HttpClient proxied("127.0.0.1", nginx.plain, 5s);
  for (const char* target : {"/v1/groups", "/v1/stats", "/v1/grouping", "/v1/cluster"}) {
    CAPTURE(target);
    CHECK(status_of(proxied, target) == 401);
    CHECK(status_of(proxied, target, "wrong") == 401);
    const int granted = status_of(proxied, target, "s3cret");
    CHECK((granted == 200 || (granted == 404 && std::string(target) == "/v1/cluster")));
  }
  CHECK(proxied.post("/v1/decide", kDecide).status == 200);
  CHECK(proxied.post("/v1/report", R"({"features":{"Asn":"AS7"},"decision":"cdn-a","score":1})")
            .status == 202);
  CHECK(status_of(proxied, "/metrics") == 200);
}

TEST_CASE("without a token a proxy that says it forwards is refused, a direct local client is not",
          "[operators][proxy][process]") {
  auto node = pytheas::test::start_node(PYTHEAS_BINARY);
  Nginx nginx(node.port);
  HttpClient proxied("127.0.0.1", nginx.forwarding, 5s);
  HttpClient direct("127.0.0.1", node.port, 5s);
  for (const char* target : {"/v1/groups", "/v1/stats", "/v1/grouping", "/dashboard/"}) {
    CAPTURE(target);
    CHECK(status_of(proxied, target) == 403);
    CHECK(status_of(direct, target) == 200);
  }
  CHECK(proxied.post("/v1/decide", kDecide).status == 200);
}

TEST_CASE("reload: learning turned off stops the learner and pins the label grouping",
          "[operators][reload][process]") {
  TempDir dir("pytheas-reload");
  const std::string learn =
      "features: [Asn, City]\ngrouping:\n  by: [Asn]\n  regroup_interval_s: 0.3\n"
      "  min_samples: 200\n";
  auto labels = dir.write("labels.yaml", learn);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, {"--labels", labels});
  HttpClient client("127.0.0.1", node.port, 5s);
  report_cities(client, 200);
  REQUIRE(eventually([&] { return grouping_of(client)["regroups"].get<int>() >= 1; }, 15s));
  // Keyed by the learned (city) rules once the supervisor has taken them.
  REQUIRE(eventually([&] { return group_of_decision(client) != "Asn=AS7"; }, 5s));

  auto verdict =
      reload(*node.process, dir, "features: [Asn, City]\ngrouping:\n  by: [Asn]\n  learn: false\n");
  CHECK(verdict.find("reloaded") != std::string::npos);
  CHECK(grouping_of(client)["mode"] == "labels");
  CHECK(group_of_decision(client) == "Asn=AS7");
  // Reports go on; no learner is left to learn from them and override the pin.
  report_cities(client, 200);
  std::this_thread::sleep_for(1s);  // > 3 of the old regroup intervals
  CHECK(grouping_of(client)["mode"] == "labels");
  CHECK(group_of_decision(client) == "Asn=AS7");
  CHECK(node.process->stderr_text().find("learning stopped") != std::string::npos);
}

TEST_CASE("reload: learning turned on starts a learner, and sample_rate applies at once",
          "[operators][reload][process]") {
  TempDir dir("pytheas-reload");
  auto labels =
      dir.write("labels.yaml", "features: [Asn, City]\ngrouping:\n  by: [Asn]\n  learn: false\n");
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, {"--labels", labels});
  HttpClient client("127.0.0.1", node.port, 5s);
  CHECK(grouping_of(client)["mode"] == "labels");

  const std::string learning =
      "features: [Asn, City]\ngrouping:\n  by: [Asn]\n"
      "  regroup_interval_s: 0.2\n  min_samples: 200\n";
  // On, but sampling (almost) nothing: the learner sees no report.
  auto verdict = reload(*node.process, dir, learning + "  sample_rate: 0.000000001\n");
  CHECK(verdict.find("reloaded") != std::string::npos);
  CHECK(eventually([&] { return grouping_of(client)["mode"] == "learned"; }, 5s));
  report_cities(client, 100);
  std::this_thread::sleep_for(600ms);  // 3 regroup intervals: its status shows its window
  CHECK(grouping_of(client)["samples"].get<int>() == 0);
  // Every report sampled: it learns the city split.
  verdict = reload(*node.process, dir, learning + "  sample_rate: 1\n");
  CHECK(verdict.find("reloaded") != std::string::npos);
  report_cities(client, 200);
  REQUIRE(eventually([&] { return grouping_of(client)["regroups"].get<int>() >= 1; }, 15s));
  CHECK(eventually([&] { return group_of_decision(client) != "Asn=AS7"; }, 5s));
}

TEST_CASE("reload: restart-only keys are refused with FILE:LINE: FIELD, the old config stays",
          "[operators][reload][process]") {
  TempDir dir("pytheas-reload");
  const std::string base = "grouping:\n  learn: false\nlimits:\n  report_queue: 1000\n";
  auto labels = dir.write("labels.yaml", base);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, {"--labels", labels});
  HttpClient client("127.0.0.1", node.port, 5s);
  const auto queue_capacity = [&] {
    return Json::parse(client.get("/v1/stats").body)["queue_capacity"].get<long>();
  };
  REQUIRE(queue_capacity() == 1000);

  // limits.event_capacity (line 5) with a key that would apply: all refused.
  auto verdict = reload(*node.process, dir,
                        base.substr(0, base.size() - 5) + "2000\n  event_capacity: 5000\n");
  CHECK(verdict.find("reload failed") != std::string::npos);
  CHECK(verdict.find(labels + ":5: limits.event_capacity: needs a restart") != std::string::npos);
  CHECK(queue_capacity() == 1000);

  verdict = reload(*node.process, dir, base + "  event_window_s: 60\n");
  CHECK(verdict.find(labels + ":5: limits.event_window_s: needs a restart") != std::string::npos);

  verdict = reload(*node.process, dir, "features: [Asn, City]\n" + base);
  CHECK(verdict.find(labels + ":1: features: needs a restart") != std::string::npos);

  // A key that takes effect at reload does.
  verdict = reload(*node.process, dir, base.substr(0, base.size() - 5) + "2000\n");
  CHECK(verdict.find("reloaded") != std::string::npos);
  // The supervisor applies it as it takes the new config (a message away).
  CHECK(eventually([&] { return queue_capacity() == 2000; }, 5s));
}
