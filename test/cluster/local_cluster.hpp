#pragma once
// LocalCluster: cluster members as real `pytheas node` processes on
// 127.0.0.1, described by a cluster file written to a temp dir with free
// ports and fast timings: by default a backend and two frontends (fe-a in
// cluster A, fe-b in cluster B), or any topology (e.g. cluster A of two
// members). For federation integration tests. Every wait is bounded; the
// destructor kills whatever still runs. Not thread-safe.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "test/support/http_client.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace pytheas::test {

/// A TCP port free on 127.0.0.1 right now (the OS picks it).
inline unsigned short free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
    throw std::runtime_error("free_port: no port");
  ::close(fd);
  return ntohs(address.sin_port);
}

/// One member of a LocalCluster: its name and frontend cluster ("" for the backend).
struct MemberSpec {
  std::string name;
  std::string cluster;
};

class LocalCluster {
 public:
  struct Member {
    std::string cluster;
    unsigned short http_port = 0;
    unsigned short caf_port = 0;
    std::unique_ptr<ChildProcess> process;
  };

  /// Writes the cluster file. `extra`: more top-level YAML for the cluster
  /// file (e.g. a tls: block, pins). `members`: the topology (the one member
  /// with an empty cluster is the backend).
  explicit LocalCluster(std::string extra = {}, std::string secret = "test-cluster-secret-0123",
                        std::vector<MemberSpec> members = {{"backend", ""},
                                                           {"fe-a", "A"},
                                                           {"fe-b", "B"}})
      : dir_("pytheas-cluster"), secret_(std::move(secret)), extra_(std::move(extra)) {
    // The OS may hand a just-closed port out again: every port in the file
    // must differ (a node refuses a file where two share one).
    std::set<unsigned short> taken;
    auto distinct_port = [&taken] {
      unsigned short port;
      do port = free_port();
      while (!taken.insert(port).second);
      return port;
    };
    for (auto& spec : members) {
      order_.push_back(spec.name);
      auto& member = members_[spec.name];
      member.cluster = spec.cluster;
      member.http_port = distinct_port();
      member.caf_port = distinct_port();
    }
    file_ = write_file(secret_);
  }

  /// Extra arguments every node gets from now on (e.g. {"--wal", "always"}).
  void set_node_args(std::vector<std::string> args) { node_args_ = std::move(args); }
  /// Gives every node a state dir of its own under the cluster's temp dir.
  void use_state_dirs() { state_dirs_ = true; }
  /// Replaces the `federation:` timings (YAML flow map) and rewrites the file.
  void set_federation(std::string flow_map) {
    federation_ = std::move(flow_map);
    file_ = write_file(secret_);
  }

  const TempDir& dir() const { return dir_; }

  /// A copy of the cluster file with another secret or extra YAML (an impostor's view).
  std::string write_file(const std::string& secret, const std::string& name = "cluster.yaml",
                         const std::string* extra = nullptr) {
    std::string yaml = (extra ? *extra : extra_) + "\nsecret: " + secret +
                       "\nfederation: " + federation_ + "\nnodes:\n";
    for (const auto& node : order_) {
      const auto& member = members_.at(node);
      yaml += "  - {name: " + node + ", role: " + (member.cluster.empty() ? "backend" : "frontend");
      if (!member.cluster.empty()) yaml += ", cluster: " + member.cluster;
      yaml += ", host: 127.0.0.1, http_port: " + std::to_string(member.http_port) +
              ", caf_port: " + std::to_string(member.caf_port) + "}\n";
    }
    return dir_.write(name, yaml);
  }

  /// Starts `name` (with `file`, default the cluster's own) and waits until it listens.
  void start(const std::string& name, const std::string& file = {}) {
    auto& member = members_.at(name);
    std::vector<std::string> argv{PYTHEAS_BINARY, "node", "--cluster", file.empty() ? file_ : file,
                                  "--name",       name};
    if (state_dirs_) {
      argv.push_back("--state-dir");
      argv.push_back((dir_.path() / ("state-" + name)).string());
    }
    argv.insert(argv.end(), node_args_.begin(), node_args_.end());
    member.process = std::make_unique<ChildProcess>(std::move(argv));
    if (!member.process->wait_for_line("listening on", std::chrono::seconds(30)))
      throw std::runtime_error(name + " did not start: " + member.process->stderr_text());
  }

  void start_all() {
    for (const auto& name : order_) start(name);
  }

  /// The members' names, backend first if it was listed first.
  const std::vector<std::string>& names() const { return order_; }
  /// The frontends' names (members with a cluster).
  std::vector<std::string> frontends() const {
    std::vector<std::string> out;
    for (const auto& name : order_)
      if (!members_.at(name).cluster.empty()) out.push_back(name);
    return out;
  }

  void kill(const std::string& name, int signal) {
    auto& process = members_.at(name).process;
    process->send_signal(signal);
    process->wait(std::chrono::seconds(20));
  }

  ChildProcess& process(const std::string& name) { return *members_.at(name).process; }
  unsigned short http_port(const std::string& name) const { return members_.at(name).http_port; }

  HttpClient client(const std::string& name) {
    return HttpClient("127.0.0.1", http_port(name), std::chrono::seconds(5));
  }

  /// GET `target` on `name` as JSON (null on an error status, or when the
  /// node does not answer: it is stopped, killed or frozen).
  nlohmann::json get_json(const std::string& name, const std::string& target) {
    try {
      auto reply = client(name).get(target);
      if (reply.status != 200) return nullptr;
      return nlohmann::json::parse(reply.body);
    } catch (const std::runtime_error&) {
      return nullptr;
    }
  }

  /// Whether `name` sees `peer` as healthy.
  bool sees_healthy(const std::string& name, const std::string& peer) {
    auto status = get_json(name, "/v1/cluster");
    if (status.is_null()) return false;
    for (const auto& member : status["members"])
      if (member["name"] == peer) return member["healthy"].get<bool>();
    return false;
  }

  const std::string& file() const { return file_; }

 private:
  TempDir dir_;
  std::string secret_;
  std::string extra_;
  std::string file_;
  std::vector<std::string> order_;
  std::string federation_ =
      "{heartbeat_interval_s: 0.1, peer_timeout_s: 1, sample_rate: 1, regroup_interval_s: 1, "
      "snapshot_push_interval_s: 0.05, reconnect_max_backoff_s: 0.5, forward_timeout_s: 1}";
  std::vector<std::string> node_args_;
  bool state_dirs_ = false;
  std::map<std::string, Member> members_;
};

}  // namespace pytheas::test
