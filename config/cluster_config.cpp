#include "config/cluster_config.hpp"

#include <set>

#include "config/learner_options_yaml.hpp"
#include "config/yaml_context.hpp"
#include "core/web_origin.hpp"

namespace pytheas {

namespace {

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

std::string trim_line_end(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

ClusterNode read_node(const Context& ctx, const YAML::Node& node, const std::string& field) {
  ctx.only_keys(node, field, {"name", "role", "cluster", "host", "http_port", "caf_port"});
  ClusterNode out;
  auto require = [&](const char* key) {
    if (!node[key]) ctx.fail(node, field + "." + key, "required");
    return node[key];
  };
  out.name = ctx.scalar<std::string>(require("name"), field + ".name", "a string");
  if (!valid_name(out.name))
    ctx.fail(node["name"], field + ".name", "use 1-64 letters, digits, '-', '_' or '.'");
  auto role = ctx.scalar<std::string>(require("role"), field + ".role", "a string");
  if (role == "frontend")
    out.role = NodeRole::frontend;
  else if (role == "backend")
    out.role = NodeRole::backend;
  else if (role == "all")
    out.role = NodeRole::all;
  else
    ctx.fail(node["role"], field + ".role",
             "unknown role '" + role + "' (expected frontend, backend or all)");
  if (auto cluster = node["cluster"]) {
    out.cluster = ctx.scalar<std::string>(cluster, field + ".cluster", "a string");
    if (!valid_name(out.cluster))
      ctx.fail(cluster, field + ".cluster", "use 1-64 letters, digits, '-', '_' or '.'");
    if (out.role == NodeRole::backend)
      ctx.fail(cluster, field + ".cluster", "a backend node belongs to no frontend cluster");
  } else if (out.role != NodeRole::backend) {
    ctx.fail(node, field + ".cluster", "required for role " + role);
  }
  if (auto host = node["host"])
    out.host = ctx.scalar<std::string>(host, field + ".host", "a string");
  if (out.host.empty()) ctx.fail(node["host"], field + ".host", "empty host");
  out.http_port =
      static_cast<std::uint16_t>(ctx.number(require("http_port"), field + ".http_port", 1, 65535));
  out.caf_port =
      static_cast<std::uint16_t>(ctx.number(require("caf_port"), field + ".caf_port", 1, 65535));
  if (out.http_port == out.caf_port)
    ctx.fail(node["caf_port"], field + ".caf_port", "must differ from http_port");
  return out;
}

void read_federation(const Context& ctx, const YAML::Node& node, ClusterConfig& config) {
  ctx.only_keys(node, "federation",
                {"heartbeat_interval_s", "peer_timeout_s", "sample_rate", "regroup_interval_s",
                 "snapshot_push_interval_s", "replicate_interval_s", "reconnect_max_backoff_s",
                 "forward_timeout_s"});
  auto f = [](const char* key) { return std::string("federation.") + key; };
  if (auto n = node["heartbeat_interval_s"])
    config.heartbeat_interval_s = ctx.number(n, f("heartbeat_interval_s"), 0.01, 60);
  if (auto n = node["peer_timeout_s"])
    config.peer_timeout_s = ctx.number(n, f("peer_timeout_s"), 0.05, 600);
  if (auto n = node["sample_rate"]) config.sample_rate = ctx.number(n, f("sample_rate"), 0, 1);
  if (auto n = node["regroup_interval_s"])
    config.regroup_interval_s = ctx.number(n, f("regroup_interval_s"), 0.05, 86400);
  if (auto n = node["snapshot_push_interval_s"])
    config.snapshot_push_interval_s = ctx.number(n, f("snapshot_push_interval_s"), 0.005, 60);
  if (auto n = node["replicate_interval_s"])
    config.replicate_interval_s = ctx.number(n, f("replicate_interval_s"), 0.005, 60);
  if (auto n = node["reconnect_max_backoff_s"])
    config.reconnect_max_backoff_s = ctx.number(n, f("reconnect_max_backoff_s"), 0.05, 600);
  if (auto n = node["forward_timeout_s"])
    config.forward_timeout_s = ctx.number(n, f("forward_timeout_s"), 0.05, 600);
  if (config.peer_timeout_s <= 2 * config.heartbeat_interval_s)
    ctx.fail(node, "federation.peer_timeout_s",
             "must be more than twice heartbeat_interval_s, or a late heartbeat marks a "
             "living peer down");
}

}  // namespace

const char* to_string(NodeRole role) {
  switch (role) {
    case NodeRole::frontend:
      return "frontend";
    case NodeRole::backend:
      return "backend";
    case NodeRole::all:
      return "all";
  }
  return "?";
}

const ClusterNode* ClusterConfig::find(const std::string& name) const {
  for (const auto& node : nodes)
    if (node.name == name) return &node;
  return nullptr;
}

const ClusterNode& ClusterConfig::backend() const {
  for (const auto& node : nodes)
    if (node.serves_backend()) return node;
  throw ConfigError(source + ": nodes: no node has role backend or all");
}

std::vector<std::string> ClusterConfig::members(const std::string& cluster) const {
  std::vector<std::string> out;
  for (const auto& node : nodes)
    if (node.serves_frontend() && node.cluster == cluster) out.push_back(node.name);
  return out;
}

const std::string* ClusterConfig::pinned_cluster(std::string_view group) const {
  for (const auto& [glob, cluster] : pins)
    if (glob_match(glob, group)) return &cluster;
  return nullptr;
}

ClusterConfig parse_cluster_config(const std::string& yaml, const std::string& source,
                                   const std::string& base_dir) {
  Context ctx(source);
  YAML::Node root = load_yaml(yaml, source);
  if (!root.IsMap()) throw ConfigError(source + ": expected a mapping with `nodes` and `secret`");
  ctx.only_keys(root, "",
                {"nodes", "secret", "secret_file", "labels", "state_dir", "decision_log",
                 "federation", "tls", "pin", "grouping", "learner", "cors_origins"});
  ClusterConfig config;
  config.source = source;

  auto nodes = root["nodes"];
  if (!nodes) ctx.fail(root, "nodes", "required");
  if (!nodes.IsSequence() || nodes.size() == 0)
    ctx.fail(nodes, "nodes", "expected a non-empty list");
  std::set<std::string> names;
  std::set<std::pair<std::string, std::uint16_t>> endpoints;
  int backends = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto field = "nodes[" + std::to_string(i) + "]";
    auto node = read_node(ctx, nodes[i], field);
    if (!names.insert(node.name).second)
      ctx.fail(nodes[i]["name"], field + ".name", "duplicate node name '" + node.name + "'");
    for (auto port : {node.http_port, node.caf_port})
      if (!endpoints.insert({node.host, port}).second)
        ctx.fail(nodes[i], field,
                 node.host + ":" + std::to_string(port) + " is used by another node");
    backends += node.serves_backend() ? 1 : 0;
    if (backends > 1)
      ctx.fail(nodes[i]["role"], field + ".role",
               "a second backend: exactly one node has role backend or all");
    config.nodes.push_back(std::move(node));
  }
  if (backends == 0) ctx.fail(nodes, "nodes", "no node has role backend or all");

  auto secret = root["secret"];
  auto secret_file = root["secret_file"];
  if (secret && secret_file)
    ctx.fail(secret_file, "secret_file", "give secret or secret_file, not both");
  if (secret) {
    config.secret = ctx.scalar<std::string>(secret, "secret", "a string");
  } else if (secret_file) {
    auto path = resolve(base_dir, ctx.scalar<std::string>(secret_file, "secret_file", "a path"));
    try {
      config.secret = trim_line_end(read_config_file(path));
    } catch (const ConfigError& e) {
      ctx.fail(secret_file, "secret_file", e.what());
    }
  } else {
    ctx.fail(root, "secret", "required (or secret_file): peers without it are refused");
  }
  if (config.secret.size() < 16)
    ctx.fail(secret ? secret : secret_file, secret ? "secret" : "secret_file",
             "must be at least 16 characters");

  if (auto labels = root["labels"])
    config.labels_file = resolve(base_dir, ctx.scalar<std::string>(labels, "labels", "a path"));
  if (auto dir = root["state_dir"])
    config.state_dir = resolve(base_dir, ctx.scalar<std::string>(dir, "state_dir", "a path"));
  if (auto dir = root["decision_log"])
    config.decision_log_dir =
        resolve(base_dir, ctx.scalar<std::string>(dir, "decision_log", "a path"));
  if (auto origins = root["cors_origins"]) {
    config.cors_origins = ctx.string_list(origins, "cors_origins");
    for (std::size_t i = 0; i < config.cors_origins.size(); ++i)
      if (auto problem = web_origin_problem(config.cors_origins[i]); !problem.empty())
        ctx.fail(origins[i], "cors_origins[" + std::to_string(i) + "]", problem);
  }
  if (auto federation = root["federation"]) read_federation(ctx, federation, config);
  if (auto grouping = root["grouping"]) {
    config.grouping = ctx.scalar<std::string>(grouping, "grouping", "labels or learned");
    if (config.grouping != "labels" && config.grouping != "learned")
      ctx.fail(grouping, "grouping", "expected labels or learned, got '" + config.grouping + "'");
  }
  if (auto learner = root["learner"]) {
    ctx.only_keys(learner, "learner",
                  {"min_group_size", "max_depth", "false_split_rate", "min_effect",
                   "min_cell_samples", "window", "features"});
    read_learner_options(ctx, learner, "learner.", nullptr, config.learner);
    if (auto n = learner["window"])
      config.learner_window = static_cast<std::size_t>(ctx.number(n, "learner.window", 1, 1e8));
  }
  if (auto pins = root["pin"]) {
    if (!pins.IsMap()) ctx.fail(pins, "pin", "expected a mapping GLOB: CLUSTER");
    for (const auto& item : pins) {
      auto glob = ctx.scalar<std::string>(item.first, "pin", "a group glob");
      auto cluster = ctx.scalar<std::string>(item.second, "pin." + glob, "a cluster name");
      if (config.members(cluster).empty())
        ctx.fail(item.second, "pin." + glob, "no frontend node is in cluster '" + cluster + "'");
      config.pins.emplace_back(std::move(glob), std::move(cluster));
    }
  }
  if (auto tls = root["tls"]) {
    ctx.only_keys(tls, "tls", {"certificate", "key", "ca"});
    for (auto [key, target] :
         {std::pair{"certificate", &config.tls.certificate}, std::pair{"key", &config.tls.key},
          std::pair{"ca", &config.tls.ca}}) {
      if (!tls[key]) ctx.fail(tls, std::string("tls.") + key, "required when tls is given");
      *target =
          resolve(base_dir, ctx.scalar<std::string>(tls[key], std::string("tls.") + key, "a path"));
    }
  }
  return config;
}

ClusterConfig load_cluster_config(const std::string& path) {
  auto slash = path.rfind('/');
  auto base_dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash);
  return parse_cluster_config(read_config_file(path), path, base_dir);
}

}  // namespace pytheas
