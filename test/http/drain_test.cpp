// SIGTERM drains without losing an accepted report: every report answered 202
// before the signal is applied and persisted, and counted after a restart
// with the same --state-dir. Also: a drain with idle keep-alive connections
// open exits promptly.

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "test/http/http_test_util.hpp"
#include "test/support/process.hpp"
#include "test/support/raw_socket.hpp"
#include "test/support/temp_dir.hpp"

using namespace pytheas::test;
using namespace std::chrono_literals;

namespace {

using pytheas::test::TempDir;

}  // namespace

TEST_CASE("SIGTERM right after N reports loses none of them", "[http][drain]") {
  TempDir state;
  constexpr int kReports = 200;
  std::string group;
  {
    auto node = start_node(PYTHEAS_BINARY, {"--state-dir", state.path().string()});
    HttpClient client("127.0.0.1", node.port);
    for (int i = 0; i < kReports; ++i) {
      Json decided(client.post("/v1/decide", kDecideBody).body);
      group = decided.str("/group");
      auto reply = client.post("/v1/report", R"({"event_id":")" + decided.str("/event_id") +
                                                 R"(","score":)" + std::to_string(i % 7) + "}");
      REQUIRE(reply.status == 202);
    }
    node.process->send_signal(SIGTERM);
    REQUIRE(node.process->wait(30s) == 0);
  }
  auto node = start_node(PYTHEAS_BINARY, {"--state-dir", state.path().string()});
  HttpClient client("127.0.0.1", node.port);
  REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }, 10s));
  std::string encoded;
  for (unsigned char c : group) {
    static const char* hex = "0123456789ABCDEF";
    if (std::isalnum(c))
      encoded.push_back(static_cast<char>(c));
    else
      encoded += std::string{'%', hex[c >> 4], hex[c & 15]};
  }
  auto reply = client.get("/v1/groups/" + encoded);
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  Json detail(reply.body);
  CHECK(detail.num("/reports") == kReports);
}

TEST_CASE("SIGTERM with idle keep-alive connections exits 0 promptly", "[http][drain]") {
  auto node = start_node(PYTHEAS_BINARY);
  HttpClient first("127.0.0.1", node.port);
  HttpClient second("127.0.0.1", node.port);
  REQUIRE(first.get("/livez").status == 200);
  REQUIRE(second.get("/livez").status == 200);
  const auto start = std::chrono::steady_clock::now();
  node.process->send_signal(SIGTERM);
  REQUIRE(node.process->wait(20s) == 0);
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // not the 60 s idle timeout
  CHECK(node.process->stderr_text().find("drain deadline passed") == std::string::npos);
}

TEST_CASE("a request in flight at SIGTERM is answered before the node exits", "[http][drain]") {
  auto node = start_node(PYTHEAS_BINARY);
  RawSocket socket(node.port);
  const std::string body = kDecideBody;
  // Half a request: headers and part of the body.
  REQUIRE(socket.send("POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 10)));
  std::this_thread::sleep_for(100ms);
  node.process->send_signal(SIGTERM);
  REQUIRE(node.process->wait_for_line("SIGTERM received", 5s));
  std::this_thread::sleep_for(200ms);
  CHECK_FALSE(node.process->wait(0ms).has_value());  // still draining, not gone
  CHECK_THROWS(RawSocket(node.port));                // but no longer accepting
  REQUIRE(socket.send(body.substr(10)));
  auto reply = socket.read_response(5s);
  CHECK(reply.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(reply.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(reply.find("\"decision\"") != std::string::npos);
  CHECK(node.process->wait(20s) == 0);
}
