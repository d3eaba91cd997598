#pragma once
// ClusterConfig: the cluster file an operator hands every node
// (`pytheas node --cluster cluster.yaml --name NODE`): which nodes exist,
// their roles and addresses, which frontend cluster each frontend belongs to,
// and the federation's settings (secret, heartbeats, sampling, TLS). See
// config/cluster-local.yaml and docs/CLUSTER.md.
// A plain value: copy it, share it read-only between threads.

#include <cstdint>
#include <string>
#include <vector>

#include "config/label_config.hpp"  // ConfigError
#include "core/grouping_learner.hpp"

namespace pytheas {

enum class NodeRole {
  frontend,  ///< serves players; owns the groups the backend assigns to its cluster
  backend,   ///< learns the group table from samples and pushes it to frontends
  all,       ///< both in one process (a one-host cluster member)
};

const char* to_string(NodeRole role);

struct ClusterNode {
  std::string name;
  NodeRole role = NodeRole::frontend;
  std::string cluster;  ///< frontend cluster (frontend and all roles); empty for backend
  std::string host = "127.0.0.1";
  std::uint16_t http_port = 0;
  std::uint16_t caf_port = 0;  ///< federation (CAF remote actors) port

  bool serves_frontend() const { return role != NodeRole::backend; }
  bool serves_backend() const { return role != NodeRole::frontend; }
};

/// Mutual TLS for federation links (CAF's openssl module). All three files or none.
struct ClusterTls {
  std::string certificate;  ///< this node's certificate (PEM)
  std::string key;          ///< its private key (PEM)
  std::string ca;           ///< CA that signed every member's certificate
  bool enabled() const { return !certificate.empty(); }
};

struct ClusterConfig {
  std::string source;  ///< the file it came from, for messages

  std::vector<ClusterNode> nodes;
  std::string labels_file;  ///< resolved against the cluster file's folder; may be empty
  std::string state_dir;    ///< base folder; a node keeps its state in state_dir/NAME
  /// Base folder of the decision logs (off-policy evaluation); a node logs to
  /// decision_log_dir/NAME. Empty: none.
  std::string decision_log_dir;
  std::string secret;  ///< shared by every member; peers without it are refused
  /// Web origins whose pages may call the members' player routes (CORS;
  /// checked by core/web_origin.hpp; "*" = any). Empty: none.
  std::vector<std::string> cors_origins;
  ClusterTls tls;
  /// `labels`: groups come from the label config's fixed grouping (the
  /// backend only assigns them to clusters). `learned`: the backend learns
  /// the grouping from sampled sessions (core/regrouper.hpp) with the
  /// `learner` settings below and pushes its rules. Empty (not set): as the
  /// label config says (it learns by default, with its own settings).
  std::string grouping;
  GroupingLearnerOptions learner;
  std::size_t learner_window = 200000;  ///< samples the backend learns from at most

  /// Operator pins, first match wins: groups whose key matches the glob
  /// always belong to that frontend cluster (regardless of traffic).
  std::vector<std::pair<std::string, std::string>> pins;

  double heartbeat_interval_s = 0.5;      ///< every link sends one this often
  double peer_timeout_s = 3;              ///< silence longer than this marks a peer down
  double sample_rate = 0.01;              ///< share of reports sampled to the backend
  double regroup_interval_s = 10;         ///< backend: recompute the group table this often
  double snapshot_push_interval_s = 0.1;  ///< owners push changed groups to subscribers
  /// Homes copy changed groups' state to their standby this often, then
  /// confirm the reports it includes to their origins (which stop keeping them).
  double replicate_interval_s = 0.5;
  double reconnect_max_backoff_s = 5;  ///< reconnect delays double up to this
  double forward_timeout_s = 2;        ///< silent with forwards unacknowledged this long: down

  const ClusterNode* find(const std::string& name) const;
  /// The node with role backend or all (validation guarantees exactly one).
  const ClusterNode& backend() const;
  /// Names of the nodes in frontend cluster `cluster`.
  std::vector<std::string> members(const std::string& cluster) const;
  /// The cluster `group` is pinned to, or null.
  const std::string* pinned_cluster(std::string_view group) const;
};

/// Parses YAML text; relative paths resolve against `base_dir`. Throws
/// ConfigError "SOURCE:LINE: FIELD: problem".
ClusterConfig parse_cluster_config(const std::string& yaml, const std::string& source,
                                   const std::string& base_dir);

/// Reads and parses a file. Throws ConfigError (also when unreadable).
ClusterConfig load_cluster_config(const std::string& path);

}  // namespace pytheas
