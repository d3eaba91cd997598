// A node learns its groups, as a user meets it: a real `pytheas node` process
// with the default label config's learning (only its clock sped up), fed
// reports where the city decides the best CDN and the OS means nothing.

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "test/actors/eventually.hpp"
#include "test/support/http_client.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using Json = nlohmann::json;
using pytheas::test::eventually;

namespace {

/// `n` reports per city: in Boston cdn-a scores 90 and cdn-b 10, in Miami the
/// other way round; half of the sessions run iOS, half Linux (noise).
void report_cities(pytheas::test::HttpClient& client, int n) {
  for (int i = 0; i < n; ++i) {
    for (const char* city : {"Boston", "Miami"}) {
      const bool a = i % 2 == 0;
      const bool good = (std::string(city) == "Boston") == a;
      const std::string body = std::string(R"({"features":{"Asn":"AS7","City":")") + city +
                               R"(","Os":")" + (i % 4 < 2 ? "ios" : "linux") +
                               R"("},"decision":")" + (a ? "cdn-a" : "cdn-b") + R"(","score":)" +
                               (good ? "90" : "10") + "}";
      REQUIRE(client.post("/v1/report", body).status == 202);
    }
  }
}

/// Share of `n` decisions in `city` that pick cdn-a, and the group they came from.
double share_of_a(pytheas::test::HttpClient& client, const std::string& city, int n,
                  std::string* group) {
  int a = 0;
  for (int i = 0; i < n; ++i) {
    auto reply = client.post("/v1/decide", R"({"features":{"Asn":"AS7","City":")" + city +
                                               R"("},"candidates":["cdn-a","cdn-b"]})");
    REQUIRE(reply.status == 200);
    auto body = Json::parse(reply.body);
    *group = body["group"].get<std::string>();
    a += body["decision"] == "cdn-a";
  }
  return double(a) / n;
}

}  // namespace

TEST_CASE("the default node learns a city split, not a noise one, and decides by city",
          "[node][process][learning]") {
  pytheas::test::TempDir dir("pytheas-learning");
  // The defaults learn; only the clock is faster than the documented 30 s.
  auto labels =
      dir.write("labels.yaml", "grouping:\n  regroup_interval_s: 1\n  min_samples: 400\n");
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, {"--labels", labels});
  pytheas::test::HttpClient client("127.0.0.1", node.port, 5s);

  // Answered from the first request after "listening" (no 404 while the
  // learner starts).
  auto first = client.get("/v1/grouping");
  REQUIRE(first.status == 200);
  auto before = Json::parse(first.body);
  CHECK(before["mode"] == "learned");
  CHECK(before["by"].get<std::string>().find("Asn") != std::string::npos);

  report_cities(client, 300);
  Json grouping;
  REQUIRE(eventually(
      [&] {
        grouping = Json::parse(client.get("/v1/grouping").body);
        return grouping["regroups"].get<int>() >= 1;
      },
      15s));
  const auto rules = grouping["rules"].get<std::string>();
  INFO(rules);
  CHECK(rules.find("City") != std::string::npos);
  CHECK(rules.find("Os") == std::string::npos);
  CHECK(grouping["merges_refused"] == 0);  // a split merges nothing

  // The new groups learn on (they start from the AS7 group's mixed state).
  report_cities(client, 100);
  std::string boston_group, miami_group;
  const double boston_a = share_of_a(client, "Boston", 60, &boston_group);
  const double miami_a = share_of_a(client, "Miami", 60, &miami_group);
  CHECK(boston_group.find("City=Boston") != std::string::npos);
  CHECK(miami_group != boston_group);
  CHECK(boston_a > 0.7);
  CHECK(miami_a < 0.3);
}
