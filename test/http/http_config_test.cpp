// The HTTP layer under a non-default label config: feature names and legacy
// mapping follow the config's schema, and a full report queue answers 503 with
// Retry-After.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "test/http/http_test_util.hpp"
#include "test/support/process.hpp"
#include "test/support/raw_socket.hpp"

using namespace pytheas::test;
using namespace std::chrono_literals;

namespace {

// A label config file that lives as long as the object.
struct LabelsFile {
  std::filesystem::path path;
  explicit LabelsFile(const std::string& yaml) {
    path = std::filesystem::temp_directory_path() /
           ("pytheas-http-labels-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".yaml");
    std::ofstream(path) << yaml;
  }
  ~LabelsFile() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

}  // namespace

TEST_CASE("a custom schema: JSON names and the legacy mapping follow it", "[http][config]") {
  LabelsFile labels("features: [City, Asn, Tier]\ngrouping:\n  by: [City]\n");
  auto node = start_node(PYTHEAS_BINARY, {"--labels", labels.path.string()});
  HttpClient client("127.0.0.1", node.port);

  auto ok = client.post("/v1/decide",
                        R"({"features":{"City":"Paris","Tier":"gold"},"candidates":["a","b"]})");
  REQUIRE(ok.status == 200);
  CHECK(Json(ok.body).str("/group") == "City=Paris");
  auto original_name =
      client.post("/v1/decide", R"({"features":{"Os":"linux"},"candidates":["a"]})");
  CHECK(original_name.status == 400);
  CHECK(error_code(original_name) == "unknown_feature");

  // The legacy payload's City (index 5) lands in this schema's City.
  const std::string payload =
      "1\t2\t3\t4\t7922\tLyon\tFR\twifi\tARA\tlinux\tvod\tobj\tflash\t1200\tcdn-a\tonly";
  std::string encoded;
  for (char c : payload) encoded += c == '\t' ? std::string("%09") : std::string(1, c);
  auto legacy = client.post("/player.php", "payload=" + encoded + "&method=request",
                            "application/x-www-form-urlencoded");
  REQUIRE(legacy.status == 200);
  CHECK(legacy.body == "only");
  CHECK(eventually([&] { return client.get("/v1/groups/City%3DLyon").status == 200; }));
}

TEST_CASE("a full report queue answers 503 with Retry-After", "[http][config]") {
  LabelsFile labels("limits:\n  report_queue: 1\n");
  auto node = start_node(PYTHEAS_BINARY, {"--labels", labels.path.string()});
  // Many pipelined reports in one write: the io thread admits them far faster
  // than the group applies them, so the one-slot queue overflows.
  const std::string report_body = R"({"features":{"Asn":"7922"},"decision":"cdn-a","score":1})";
  std::string one =
      "POST /v1/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(report_body.size()) + "\r\n\r\n" + report_body;
  std::string burst;
  constexpr int kReports = 2000;
  for (int i = 0; i < kReports; ++i) burst += one;
  RawSocket socket(node.port);
  REQUIRE(socket.send(burst));
  int accepted = 0, overloaded = 0, other = 0;
  bool retry_after = true;
  for (int i = 0; i < kReports; ++i) {
    auto reply = socket.read_response(10s);
    if (reply.rfind("HTTP/1.1 202 ", 0) == 0) {
      ++accepted;
    } else if (reply.rfind("HTTP/1.1 503 ", 0) == 0) {
      ++overloaded;
      retry_after = retry_after && reply.find("\r\nRetry-After: 1\r\n") != std::string::npos &&
                    reply.find("\"overloaded\"") != std::string::npos;
    } else {
      ++other;
      break;
    }
  }
  CHECK(other == 0);
  CHECK(accepted >= 1);
  CHECK(overloaded >= 1);
  CHECK(retry_after);
  HttpClient client("127.0.0.1", node.port);
  auto metrics = client.get("/metrics").body;
  CHECK(metrics.find("\npytheas_reports_total{result=\"overloaded\"} " +
                     std::to_string(overloaded) + "\n") != std::string::npos);
}
