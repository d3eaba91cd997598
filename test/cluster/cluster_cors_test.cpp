// The cluster file's cors_origins reach every member's player routes (a
// member started alone: CORS needs no federation).

#include <catch2/catch.hpp>

#include "test/cluster/local_cluster.hpp"

using namespace pytheas::test;

TEST_CASE("cors_origins in the cluster file grant a member's player routes", "[cluster][cors]") {
  LocalCluster cluster("cors_origins: [\"http://127.0.0.1:8000\"]\n");
  cluster.start("fe-a");
  auto client = cluster.client("fe-a");
  auto granted = client.request(
      "OPTIONS", "/v1/decide", "", "",
      {{"Origin", "http://127.0.0.1:8000"}, {"Access-Control-Request-Method", "POST"}});
  CHECK(granted.status == 204);
  CHECK(granted.headers["access-control-allow-origin"] == "http://127.0.0.1:8000");
  auto refused = client.request(
      "OPTIONS", "/v1/decide", "", "",
      {{"Origin", "http://127.0.0.1:8001"}, {"Access-Control-Request-Method", "POST"}});
  CHECK(refused.status == 403);
  CHECK(refused.headers.count("access-control-allow-origin") == 0);
}
