// `pytheas node` as a real process: it starts, answers /livez and /readyz,
// and stops cleanly (exit 0) on SIGTERM and SIGINT.

#include <signal.h>

#include <catch2/catch.hpp>

#include "test/support/http_client.hpp"
#include "test/support/process.hpp"

using namespace std::chrono_literals;

TEST_CASE("node serves /livez and /readyz and exits 0 on SIGTERM", "[node][process]") {
  auto node = pytheas::test::start_node(PYTHEAS_BINARY);
  pytheas::test::HttpClient client("127.0.0.1", node.port);
  auto live = client.get("/livez");
  CHECK(live.status == 200);
  auto ready = client.get("/readyz");
  CHECK(ready.status == 200);
  CHECK(client.get("/no-such-route").status == 404);

  node.process->send_signal(SIGTERM);
  CHECK(node.process->wait(20s) == 0);
  CHECK(node.process->stderr_text().find("stopped") != std::string::npos);
}

TEST_CASE("node exits 0 on SIGINT", "[node][process]") {
  auto node = pytheas::test::start_node(PYTHEAS_BINARY);
  node.process->send_signal(SIGINT);
  CHECK(node.process->wait(20s) == 0);
}

TEST_CASE("node reports a port in use and exits 1", "[node][process]") {
  auto first = pytheas::test::start_node(PYTHEAS_BINARY);
  auto address = "127.0.0.1:" + std::to_string(first.port);
  auto second = pytheas::test::run_to_completion({PYTHEAS_BINARY, "node", "--http", address}, 20s);
  CHECK(second.exit_code == 1);
  CHECK(second.err.find(address) != std::string::npos);
}
