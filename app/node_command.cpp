// `pytheas node`: assemble a node (actors) and its HTTP front door, then wait
// for signals: SIGINT/SIGTERM drain and stop, SIGHUP reloads the label config.

#include <pthread.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/node/node.hpp"
#include "app/commands.hpp"
#include "config/cluster_config.hpp"
#include "http/api.hpp"
#include "http/server.hpp"
#include "logging/log_setup.hpp"

namespace pytheas::app {

bool parse_host_port(const std::string& text, std::string& host, std::uint16_t& port) {
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) return false;  // bare IPv6 needs brackets
  }
  if (port_text.empty() || port_text.size() > 5) return false;
  unsigned value = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535 || host.empty()) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

int run_node(const NodeCommand& command) {
  // Block the signals before any thread starts so that only sigwait() below
  // sees them: no async-signal-safety puzzles in handlers.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Logs go to stderr (stdout stays free for tools that pipe the node).
  configure_logging(command.log_level, command.log_format);

  NodeOptions node_options;
  node_options.state_dir = command.state_dir;
  node_options.labels_file = command.labels_file;
  node_options.malloc_arenas = command.malloc_arenas;
  node_options.wal = parse_wal_sync(command.wal);
  node_options.wal_batch_ms = command.wal_batch_ms;
  node_options.decision_log.dir = command.decision_log;
  node_options.decision_log.rotate_bytes = command.decision_log_rotate_mb << 20;
  node_options.decision_log.rotate_seconds = command.decision_log_rotate_s;
  node_options.decision_log.cap_bytes = command.decision_log_cap_mb << 20;
  node_options.decision_log.queue_records = command.decision_log_queue;
  std::string http_address = command.http;
  std::vector<std::string> cors_origins = command.cors_origins;
  if (!command.cluster_file.empty()) {
    // A cluster member takes its address, label config, state dir and CORS
    // origins from the cluster file; --http, --labels, --state-dir and
    // --cors-origin override them.
    try {
      auto cluster = std::make_shared<ClusterConfig>(load_cluster_config(command.cluster_file));
      const auto* me = cluster->find(command.node_name);
      if (!me) {
        std::fprintf(stderr, "pytheas: error: --name: '%s' is not a node of %s\n",
                     command.node_name.c_str(), command.cluster_file.c_str());
        return 1;
      }
      if (!command.http_given) {
        bool v6 = me->host.find(':') != std::string::npos;
        http_address = (v6 ? "[" + me->host + "]" : me->host) + ":" + std::to_string(me->http_port);
      }
      if (node_options.labels_file.empty()) node_options.labels_file = cluster->labels_file;
      if (cors_origins.empty()) cors_origins = cluster->cors_origins;
      if (node_options.state_dir.empty() && !cluster->state_dir.empty())
        node_options.state_dir = cluster->state_dir + "/" + me->name;
      if (node_options.decision_log.dir.empty() && !cluster->decision_log_dir.empty())
        node_options.decision_log.dir = cluster->decision_log_dir + "/" + me->name;
      node_options.node_name = me->name;
      node_options.cluster = std::move(cluster);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pytheas: error: %s\n", e.what());
      return 1;
    }
  }

  http::ServerOptions server_options;
  if (!parse_host_port(http_address, server_options.host, server_options.port)) {
    std::fprintf(stderr, "pytheas: error: --http: bad HOST:PORT '%s'\n", http_address.c_str());
    return 2;
  }
  server_options.threads = command.io_threads;
  server_options.body_limit = command.body_limit;
  server_options.header_limit = command.header_limit;
  server_options.read_timeout = std::chrono::milliseconds(command.read_timeout_ms);
  server_options.idle_timeout = std::chrono::milliseconds(command.idle_timeout_ms);
  server_options.max_connections = command.max_connections;
  server_options.drain_timeout = std::chrono::milliseconds(command.drain_timeout_ms);
  http::ApiOptions api_options;
  api_options.max_json_depth = command.max_json_depth;
  api_options.admin_token = command.admin_token;
  api_options.listens_on_loopback = http::is_loopback_host(server_options.host);
  if (api_options.admin_token.empty() && !api_options.listens_on_loopback)
    spdlog::warn(
        "--http {} listens beyond loopback and no --admin-token is set: the admin routes "
        "(/v1/groups, /v1/stats, /v1/cluster, /v1/grouping, the dashboard) refuse every client",
        http_address);
  try {
    api_options.player_cors = http::CorsPolicy(cors_origins);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "pytheas: error: %s\n", e.what());
    return 2;
  }

  try {
    Node node(node_options);
    node.start();
    http::HttpServer server(server_options, http::make_api_handler(node, api_options));
    server.start();
    log_notice(fmt::format("node listening on http://{}:{}", server_options.host, server.port()));

    for (;;) {
      int signal = 0;
      sigwait(&signals, &signal);
      if (signal == SIGHUP) {
        std::string message;
        bool ok = node.reload(message);
        if (ok)
          spdlog::info("SIGHUP: {}", message);
        else
          spdlog::error("SIGHUP: reload failed, keeping the old config: {}", message);
        continue;
      }
      log_notice(signal == SIGINT ? "SIGINT received, stopping" : "SIGTERM received, stopping");
      break;
    }
    // Drain: stop accepting and let requests in flight finish; only then stop
    // the node, which applies every accepted report and persists state.
    if (const auto left = server.stop(); left > 0)
      spdlog::warn("drain deadline passed with {} connections open", left);
    node.stop();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  log_notice("stopped");
  return 0;
}

}  // namespace pytheas::app
