#pragma once
// The `pytheas` subcommands. Each returns the process exit code:
// 0 success, 1 runtime failure (message on stderr), 2 usage error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pytheas::app {

struct NodeCommand {
  std::string http = "127.0.0.1:8080";  ///< HOST:PORT
  bool http_given = false;              ///< --http given (else a cluster file's address wins)
  std::string state_dir;
  std::string wal = "none";  ///< write-ahead log sync policy: none|batch|always
  int wal_batch_ms = 10;
  std::string labels_file;
  std::string decision_log;  ///< directory; empty: no decision log
  std::uint64_t decision_log_rotate_mb = 64;
  double decision_log_rotate_s = 3600;
  std::uint64_t decision_log_cap_mb = 1024;  ///< 0: no cap
  std::size_t decision_log_queue = 16384;    ///< records waiting for the log's writer
  std::string cluster_file;
  std::string node_name;
  int io_threads = 0;     ///< 0 = one per core
  int malloc_arenas = 1;  ///< glibc malloc arenas (NodeOptions::malloc_arenas); 0: glibc's default
  // HTTP limits (see http::ServerOptions / http::ApiOptions, docs/API.md).
  std::size_t body_limit = 64 * 1024;
  std::size_t header_limit = 8 * 1024;
  int read_timeout_ms = 10'000;
  int idle_timeout_ms = 60'000;
  std::size_t max_connections = 10'000;
  std::size_t max_json_depth = 16;
  std::string admin_token;  ///< empty: admin routes only for local peers (http/api.hpp)
  /// Browser origins allowed on the player routes (--cors-origin, repeatable;
  /// "*" = any). Given, it replaces the cluster file's cors_origins.
  std::vector<std::string> cors_origins;
  int drain_timeout_ms = 10'000;
  std::string log_level = "info";
  std::string log_format = "text";  ///< text | json (one JSON object per line)
};

int run_node(const NodeCommand& command);

/// Splits "HOST:PORT" / "[V6]:PORT". Returns false on a malformed value.
bool parse_host_port(const std::string& text, std::string& host, std::uint16_t& port);

}  // namespace pytheas::app
