// The README's main command: scripts/run builds (a no-op here: the test runs
// from that very build) and execs a node that answers /livez.

#include <signal.h>

#include <catch2/catch.hpp>

#include "test/support/http_client.hpp"
#include "test/support/process.hpp"

using namespace std::chrono_literals;

TEST_CASE("scripts/run starts a node that answers /livez", "[cli][process]") {
  pytheas::test::ChildProcess run(
      {"/bin/bash", PYTHEAS_SOURCE_DIR "/scripts/run", "--http", "127.0.0.1:0"});
  auto line = run.wait_for_line("listening on http://", 240s);
  INFO(run.stderr_text());
  REQUIRE(line);
  auto port = static_cast<unsigned short>(std::stoi(line->substr(line->rfind(':') + 1)));
  pytheas::test::HttpClient client("127.0.0.1", port);
  CHECK(client.get("/livez").status == 200);
  run.send_signal(SIGTERM);  // the script exec'd the node: the signal reaches it
  CHECK(run.wait(30s) == 0);
}
