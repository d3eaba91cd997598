// The dashboard end to end: a real node process gets decisions and reports,
// then headless Chromium loads http://127.0.0.1:PORT/, runs the page's
// JavaScript (virtual time: several one-second polls in a moment) and dumps
// the rendered DOM, which must show the node's groups, their decisions and
// the report count; on a cluster frontend, the members and their health.
//
// Chromium comes from scripts/deps. Where it is not installed the test exits
// with kSkipExitCode, which ctest reports as skipped (SKIP_RETURN_CODE), and
// says why on stderr.

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "test/cluster/local_cluster.hpp"
#include "test/support/http_client.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace pytheas::test;

namespace {

constexpr int kSkipExitCode = 77;  // test/app/CMakeLists.txt: SKIP_RETURN_CODE

// $PYTHEAS_CHROMIUM, else the first Chromium/Chrome found on PATH; empty if none.
std::string find_chromium() {
  if (const char* given = std::getenv("PYTHEAS_CHROMIUM"); given && *given) return given;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const char* name :
         {"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}) {
      const auto candidate = std::filesystem::path(dir) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return {};
}

[[noreturn]] void skip(const std::string& why) {
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  std::fflush(stderr);
  std::exit(kSkipExitCode);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Text of the element with id `id` in a DOM dump ("" if absent).
std::string element_text(const std::string& dom, const std::string& id) {
  const auto at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  const auto open_end = dom.find('>', at);
  const auto close = dom.find('<', open_end);
  if (open_end == std::string::npos || close == std::string::npos) return {};
  return dom.substr(open_end + 1, close - open_end - 1);
}

// Loads http://127.0.0.1:PORT/ in headless Chromium and returns the DOM after
// the page's script ran (virtual time: 20 s of polls in a moment; enough for
// several even when a loaded machine makes the page back off).
std::string render_dashboard(const std::string& chromium, unsigned short port) {
  TempDir dir("pytheas-chromium");
  const auto dom_file = dir.path() / "dom.html";
  const auto log_file = dir.path() / "chromium.log";
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  // A private profile dir per run: parallel tests never share a Chromium profile.
  const std::string command = "exec '" + chromium +
                              "' --headless --disable-gpu --no-sandbox --disable-dev-shm-usage "
                              "--no-first-run --user-data-dir='" +
                              (dir.path() / "profile").string() +
                              "' --virtual-time-budget=20000 --dump-dom '" + url + "' > '" +
                              dom_file.string() + "' 2> '" + log_file.string() + "'";
  const auto run = run_to_completion({"/bin/sh", "-c", command}, 120s);
  INFO("chromium exit code " << run.exit_code << "; its log:\n" << read_file(log_file));
  REQUIRE(run.exit_code == 0);
  return read_file(dom_file);
}

// The chromium binary, or exits kSkipExitCode (ctest: skipped) saying why.
std::string chromium_or_skip() {
  const std::string chromium = find_chromium();
  if (chromium.empty())
    skip(
        "Chromium is not installed (scripts/deps installs it; or set PYTHEAS_CHROMIUM): "
        "the dashboard was not rendered");
  return chromium;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

}  // namespace

TEST_CASE("headless Chromium renders the node's groups and reports on the dashboard",
          "[dashboard][process][chromium]") {
  const std::string chromium = chromium_or_skip();
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient client("127.0.0.1", node.port);
  // Three groups; cdn-b scores best, so the shares drift towards it.
  const char* asns[] = {"dash-1", "dash-2", "dash-3"};
  int reports = 0;
  for (int round = 0; round < 10; ++round) {
    for (const char* asn : asns) {
      auto decided = client.post("/v1/decide", std::string(R"({"features":{"Asn":")") + asn +
                                                   R"("},"candidates":["cdn-a","cdn-b"]})");
      REQUIRE(decided.status == 200);
      const auto id_at = decided.body.find("\"event_id\":\"") + 12;
      const auto event_id = decided.body.substr(id_at, decided.body.find('"', id_at) - id_at);
      const bool best = decided.body.find("\"decision\":\"cdn-b\"") != std::string::npos;
      auto reported = client.post(
          "/v1/report", R"({"event_id":")" + event_id + R"(","score":)" + (best ? "5" : "1") + "}");
      REQUIRE(reported.status == 202);
      ++reports;
    }
  }
  // Wait until every report is applied, so the page has the final count.
  const std::string applied = "\"reports_applied\":" + std::to_string(reports) + ",";
  bool settled = false;
  for (int i = 0; i < 250 && !settled; ++i) {
    settled = client.get("/v1/stats").body.find(applied) != std::string::npos;
    if (!settled) usleep(20'000);
  }
  REQUIRE(settled);

  const std::string dom = render_dashboard(chromium, node.port);
  INFO("DOM:\n" << dom.substr(0, 4000));

  // The data arrived and was rendered by the page's script, not just the HTML shell.
  CHECK(element_text(dom, "status") == "ready");
  CHECK(element_text(dom, "active-groups") == "3");
  CHECK(element_text(dom, "reports-total") == std::to_string(reports));
  CHECK(element_text(dom, "decisions-total") == std::to_string(reports));
  CHECK(element_text(dom, "reports-rejected") == "0");
  CHECK(occurrences(dom, "<tr class=\"group\"") == 3);
  for (const char* asn : asns) {
    CHECK(dom.find(std::string("data-key=\"Asn=") + asn + "\"") != std::string::npos);
    CHECK(dom.find(std::string("<td class=\"key\">Asn=") + asn + "</td>") != std::string::npos);
  }
  // Each group's decision shares name its decisions; the score sparkline is drawn.
  CHECK(occurrences(dom, "class=\"item arm\"") == 6);
  CHECK(occurrences(dom, "<path class=\"spark\"") == 3);
  // An all-in-one node has no /v1/cluster (404): the page says so.
  CHECK(dom.find("id=\"standalone\"") != std::string::npos);
  CHECK(element_text(dom, "error").empty());
  // The grouping in force: the default node learns, starting from [Asn].
  CHECK(element_text(dom, "grouping").find("Asn") != std::string::npos);
  CHECK(element_text(dom, "grouping-note").find("learning") != std::string::npos);
}

TEST_CASE("headless Chromium renders a frontend's cluster members and their health",
          "[dashboard][process][chromium][cluster]") {
  const std::string chromium = chromium_or_skip();
  LocalCluster cluster;
  cluster.start_all();
  const auto until = [](const std::function<bool()>& condition) {
    for (int i = 0; i < 750; ++i) {  // 15 s
      if (condition()) return true;
      usleep(20'000);
    }
    return false;
  };
  REQUIRE(until([&] {
    return cluster.sees_healthy("fe-a", "backend") && cluster.sees_healthy("fe-a", "fe-b");
  }));
  // fe-b goes away: fe-a declares it down after the peer timeout (1 s here).
  cluster.kill("fe-b", SIGKILL);
  REQUIRE(until([&] { return !cluster.sees_healthy("fe-a", "fe-b"); }));

  const std::string dom = render_dashboard(chromium, cluster.http_port("fe-a"));
  INFO("DOM:\n" << dom.substr(0, 6000));
  CHECK(dom.find("id=\"standalone\"") == std::string::npos);
  CHECK(dom.find("node <b>fe-a</b>") != std::string::npos);
  CHECK(dom.find("role <b>frontend</b>") != std::string::npos);
  CHECK(dom.find("cluster <b>A</b>") != std::string::npos);
  CHECK(occurrences(dom, "<tr class=\"member\">") == 2);
  // One row per member: its health dot and word, then its name.
  CHECK(dom.find("<span class=\"dot dot-good\"></span>healthy</td><td>backend</td>") !=
        std::string::npos);
  CHECK(dom.find("<span class=\"dot dot-bad\"></span>unreachable</td><td>fe-b</td>") !=
        std::string::npos);
  CHECK(element_text(dom, "cluster-note") == "1 of 2 members healthy");
}
