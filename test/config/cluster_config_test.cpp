#include "config/cluster_config.hpp"

#include <catch2/catch.hpp>

using namespace pytheas;

namespace {
const std::string kNodes = R"(
nodes:
  - {name: be, role: backend, host: 127.0.0.1, http_port: 8090, caf_port: 9090}
  - {name: fe-a, role: frontend, cluster: A, host: 127.0.0.1, http_port: 8091, caf_port: 9091}
)";
const std::string kSecret = "secret: 0123456789abcdef\n";

// The message of the ConfigError that parsing `yaml` throws.
std::string error_of(const std::string& yaml) {
  try {
    parse_cluster_config(yaml, "cluster.yaml", "/etc/pytheas");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("the one-host example in config/ parses", "[config][cluster]") {
  auto config = load_cluster_config(PYTHEAS_SOURCE_DIR "/config/cluster-local.yaml");
  REQUIRE(config.nodes.size() == 4);
  CHECK(config.backend().name == "backend");
  CHECK(config.backend().http_port == 8090);
  CHECK(config.members("A") == std::vector<std::string>{"fe-a1", "fe-a2"});
  CHECK(config.members("B") == std::vector<std::string>{"fe-b"});
  REQUIRE(config.find("fe-b"));
  CHECK(config.find("fe-b")->caf_port == 9092);
  CHECK(config.find("nope") == nullptr);
  // Relative paths resolve against the cluster file's folder.
  CHECK(config.labels_file == PYTHEAS_SOURCE_DIR "/config/labels.example.yaml");
  CHECK(config.sample_rate == Approx(0.01));
  CHECK(config.replicate_interval_s == Approx(0.5));
  CHECK_FALSE(config.tls.enabled());
}

TEST_CASE("a minimal cluster file gets the defaults", "[config][cluster]") {
  auto config = parse_cluster_config(kSecret + kNodes, "c.yaml", "/etc/pytheas");
  CHECK(config.secret == "0123456789abcdef");
  CHECK(config.heartbeat_interval_s == Approx(0.5));
  CHECK(config.peer_timeout_s == Approx(3));
  CHECK(config.labels_file.empty());
  CHECK(config.find("fe-a")->role == NodeRole::frontend);
  CHECK(config.find("fe-a")->serves_frontend());
  CHECK_FALSE(config.find("be")->serves_frontend());
}

TEST_CASE("cluster file errors name the file, line and field", "[config][cluster]") {
  CHECK(error_of(kNodes) ==
        "cluster.yaml:2: secret: required (or secret_file): peers without it "
        "are refused");
  CHECK(error_of("secret: short\n" + kNodes) ==
        "cluster.yaml:1: secret: must be at least 16 characters");
  CHECK(error_of(kSecret) == "cluster.yaml:1: nodes: required");
  CHECK(error_of(kSecret + "nodes: []\n") == "cluster.yaml:2: nodes: expected a non-empty list");
  CHECK(error_of(kSecret + "nodez: []\n") ==
        "cluster.yaml:2: nodez: unknown key (expected one of: nodes, secret, secret_file, labels, "
        "state_dir, decision_log, federation, tls, pin, grouping, learner, cors_origins)");
  CHECK(error_of(kSecret + R"(nodes:
  - {name: fe-a, role: frontend, cluster: A, http_port: 1, caf_port: 2}
)") == "cluster.yaml:3: nodes: no node has role backend or all");
  CHECK(error_of(kSecret + R"(nodes:
  - {name: be, role: backend, http_port: 1, caf_port: 2}
  - {name: fe, role: frontend, http_port: 3, caf_port: 4}
)") == "cluster.yaml:4: nodes[1].cluster: required for role frontend");
  CHECK(error_of(kSecret + R"(nodes:
  - {name: be, role: boss, http_port: 1, caf_port: 2}
)") == "cluster.yaml:3: nodes[0].role: unknown role 'boss' (expected frontend, backend or all)");
  CHECK(error_of(kSecret + R"(nodes:
  - {name: be, role: backend, http_port: 1, caf_port: 2}
  - {name: be, role: all, cluster: A, http_port: 3, caf_port: 4}
)") == "cluster.yaml:4: nodes[1].name: duplicate node name 'be'");
  CHECK(error_of(kSecret + R"(nodes:
  - {name: be, role: backend, http_port: 1, caf_port: 2}
  - {name: fe, role: frontend, cluster: A, http_port: 2, caf_port: 4}
)") == "cluster.yaml:4: nodes[1]: 127.0.0.1:2 is used by another node");
  CHECK(error_of(kSecret + R"(nodes:
  - {name: be, role: backend, http_port: 1, caf_port: 2}
  - {name: b2, role: all, cluster: A, http_port: 3, caf_port: 4}
)") == "cluster.yaml:4: nodes[1].role: a second backend: exactly one node has role backend or "
       "all");
  CHECK(error_of(kSecret + R"(nodes:
  - {name: be, role: backend, http_port: 70000, caf_port: 2}
)") == "cluster.yaml:3: nodes[0].http_port: must be in [1, 65535], got 70000");
  CHECK(error_of(kSecret + kNodes + "federation: {heartbeat_interval_s: 2, peer_timeout_s: 3}\n") ==
        "cluster.yaml:6: federation.peer_timeout_s: must be more than twice heartbeat_interval_s, "
        "or a late heartbeat marks a living peer down");
  CHECK(error_of(kSecret + kNodes + "federation: {sample_rate: 2}\n") ==
        "cluster.yaml:6: federation.sample_rate: must be in [0, 1], got 2");
  CHECK(error_of(kSecret + kNodes + "tls: {certificate: a.pem}\n") ==
        "cluster.yaml:6: tls.key: required when tls is given");
  CHECK(error_of(kSecret + "nodes: [\n").find("cluster.yaml:") == 0);
}

TEST_CASE("decision_log is a base folder resolved against the cluster file", "[config][cluster]") {
  auto config = parse_cluster_config(kSecret + kNodes + "decision_log: logs\n", "c.yaml", "/srv/c");
  CHECK(config.decision_log_dir == "/srv/c/logs");
  CHECK(parse_cluster_config(kSecret + kNodes, "c.yaml", "/srv/c").decision_log_dir.empty());
  CHECK(error_of(kSecret + kNodes + "decision_log: [a]\n") ==
        "cluster.yaml:6: decision_log: expected a path");
}

TEST_CASE("secret_file is read and its newline dropped", "[config][cluster]") {
  CHECK(error_of("secret_file: /nonexistent/secret\n" + kNodes) ==
        "cluster.yaml:1: secret_file: /nonexistent/secret: cannot read file");
}

TEST_CASE("pins send matching groups to a named cluster", "[config][cluster]") {
  auto config = parse_cluster_config(kSecret + kNodes + "pin: {\"Asn=7922*\": A}\n", "c.yaml", "");
  REQUIRE(config.pinned_cluster("Asn=7922"));
  CHECK(*config.pinned_cluster("Asn=7922") == "A");
  CHECK(config.pinned_cluster("Asn=701") == nullptr);
  CHECK(error_of(kSecret + kNodes + "pin: {\"Asn=1\": Z}\n") ==
        "cluster.yaml:6: pin.Asn=1: no frontend node is in cluster 'Z'");
}

TEST_CASE("grouping: learned with learner knobs", "[config][cluster]") {
  auto config = parse_cluster_config(
      kSecret + kNodes +
          "grouping: learned\nlearner: {min_group_size: 20, max_depth: 2, window: 500}\n",
      "c.yaml", "");
  CHECK(config.grouping == "learned");
  CHECK(config.learner.min_group_size == 20);
  CHECK(config.learner.max_depth == 2);
  CHECK(config.learner_window == 500);
  CHECK(error_of(kSecret + kNodes + "grouping: smart\n") ==
        "cluster.yaml:6: grouping: expected labels or learned, got 'smart'");
}

TEST_CASE("cors_origins lists the web origins of player pages", "[config][cluster][cors]") {
  auto none = parse_cluster_config(kSecret + kNodes, "c.yaml", "");
  CHECK(none.cors_origins.empty());
  auto some = parse_cluster_config(
      kSecret + kNodes + "cors_origins: [\"https://video.example\", \"http://127.0.0.1:8000\"]\n",
      "c.yaml", "");
  CHECK(some.cors_origins ==
        std::vector<std::string>{"https://video.example", "http://127.0.0.1:8000"});
  auto any = parse_cluster_config(kSecret + kNodes + "cors_origins: [\"*\"]\n", "c.yaml", "");
  CHECK(any.cors_origins == std::vector<std::string>{"*"});

  // A value a browser never sends is refused at its line, naming the entry.
  CHECK(error_of(kSecret + kNodes +
                 "cors_origins:\n  - https://video.example\n"
                 "  - https://video.example/\n") ==
        "cluster.yaml:8: cors_origins[1]: 'https://video.example/': a web origin has no path "
        "(no '/' after the host)");
  CHECK(error_of(kSecret + kNodes + "cors_origins: https://video.example\n") ==
        "cluster.yaml:6: cors_origins: expected a list");
}
