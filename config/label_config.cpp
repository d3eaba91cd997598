#include "config/label_config.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "config/learner_options_yaml.hpp"
#include "config/yaml_context.hpp"
#include "core/errors.hpp"

namespace pytheas {

namespace {

void read_policy(const Context& ctx, const YAML::Node& node, const std::string& field,
                 PolicyConfig& policy) {
  ctx.only_keys(node, field,
                {"kind", "half_life_s", "batch_s", "batch_discount", "exploration", "normalize",
                 "pick_list", "window_s", "epsilon", "thompson_draws", "fixed_decision",
                 "forget_after_s", "change_threshold", "max_observations", "preset"});
  if (auto preset = node["preset"]) {
    auto name = ctx.scalar<std::string>(preset, field + ".preset", "a string");
    if (name != "original")
      ctx.fail(preset, field + ".preset", "unknown preset (expected: original)");
    policy = PolicyConfig::original_ducb();
  }
  auto f = [&](const char* key) { return field + "." + key; };
  if (auto n = node["kind"]) {
    policy.kind = ctx.scalar<std::string>(n, f("kind"), "a string");
    static const std::set<std::string> kinds = {"ducb",     "swucb",  "ucb",  "egreedy",
                                                "thompson", "random", "fixed"};
    if (!kinds.count(policy.kind))
      ctx.fail(n, f("kind"),
               "unknown policy '" + policy.kind +
                   "' (expected ducb, swucb, ucb, egreedy, thompson, random or fixed)");
  }
  if (auto n = node["half_life_s"]) policy.half_life_s = ctx.number(n, f("half_life_s"), 1e-3, 1e9);
  if (auto n = node["batch_s"]) policy.batch_s = ctx.number(n, f("batch_s"), 0, 1e9);
  if (auto n = node["batch_discount"])
    policy.batch_discount = ctx.number(n, f("batch_discount"), 1e-9, 1);
  if (auto n = node["exploration"]) policy.exploration = ctx.number(n, f("exploration"), 0, 1e12);
  if (auto n = node["normalize"])
    policy.normalize = ctx.scalar<bool>(n, f("normalize"), "true or false");
  if (auto n = node["pick_list"])
    policy.pick_list = static_cast<int>(ctx.number(n, f("pick_list"), 1, 1000));
  if (auto n = node["window_s"]) policy.window_s = ctx.number(n, f("window_s"), 1e-3, 1e9);
  if (auto n = node["epsilon"]) policy.epsilon = ctx.number(n, f("epsilon"), 0, 1);
  if (auto n = node["thompson_draws"])
    policy.thompson_draws = static_cast<int>(ctx.number(n, f("thompson_draws"), 1, 100000));
  if (auto n = node["fixed_decision"])
    policy.fixed_decision = ctx.scalar<std::string>(n, f("fixed_decision"), "a string");
  if (auto n = node["forget_after_s"])
    policy.forget_after_s = ctx.number(n, f("forget_after_s"), 0, 1e12);
  if (auto n = node["change_threshold"])
    policy.change_threshold = ctx.number(n, f("change_threshold"), 0, 1e6);
  if (auto n = node["max_observations"])
    policy.max_observations = ctx.number(n, f("max_observations"), 0, 1e12);
  if (policy.kind == "fixed" && policy.fixed_decision.empty())
    ctx.fail(node, field, "kind 'fixed' needs fixed_decision");
  try {
    validate_policy_config(policy);  // core's own checks, so nothing fails later at spawn
  } catch (const InvalidInput& e) {
    ctx.fail(node, field, e.what());
  }
}

RuleNode read_rule(const Context& ctx, const YAML::Node& node, const std::string& field,
                   const FeatureSchema& schema, int depth) {
  if (depth > 32) ctx.fail(node, field, "rule tree deeper than 32 levels");
  RuleNode out;
  if (node.IsScalar()) {
    auto name = node.as<std::string>();
    if (name.empty()) ctx.fail(node, field, "empty group name");
    out.node = name;
    return out;
  }
  ctx.only_keys(node, field, {"feature", "table", "default"});
  RuleNode::Split split;
  auto feature = node["feature"];
  if (!feature) ctx.fail(node, field + ".feature", "missing (a split needs a feature)");
  split.feature = ctx.scalar<std::string>(feature, field + ".feature", "a feature name");
  if (!schema.index_of(split.feature))
    ctx.fail(feature, field + ".feature", "unknown feature '" + split.feature + "'");
  if (auto table = node["table"]) {
    if (!table.IsMap()) ctx.fail(table, field + ".table", "expected a mapping value -> subtree");
    for (const auto& item : table) {
      auto value = ctx.scalar<std::string>(item.first, field + ".table", "a plain value key");
      split.table.emplace(
          value, read_rule(ctx, item.second, field + ".table." + value, schema, depth + 1));
    }
  }
  auto otherwise = node["default"];
  if (!otherwise)
    ctx.fail(node, field + ".default", "missing (every split needs a default branch)");
  split.otherwise =
      std::make_unique<RuleNode>(read_rule(ctx, otherwise, field + ".default", schema, depth + 1));
  out.node = std::move(split);
  return out;
}

void collect_leaves(const RuleNode& node, std::vector<std::string>& out) {
  if (auto* name = std::get_if<std::string>(&node.node)) {
    out.push_back(*name);
    return;
  }
  const auto& split = std::get<RuleNode::Split>(node.node);
  for (const auto& [value, child] : split.table) collect_leaves(child, out);
  collect_leaves(*split.otherwise, out);
}

}  // namespace

std::unique_ptr<Grouping> LabelConfig::make_grouping() const {
  if (rules) return make_rule_tree_grouping(schema, rules);
  return make_feature_grouping(schema, group_by);
}

const PolicyConfig& LabelConfig::policy_for(std::string_view group_key) const {
  for (const auto& rule : group_policies)
    if (glob_match(rule.match, group_key)) return rule.policy;
  return default_policy;
}

std::vector<std::string> LabelConfig::rule_groups() const {
  std::vector<std::string> out;
  if (rules) collect_leaves(*rules, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool LabelConfig::same_grouping(const LabelConfig& other) const {
  if (group_by != other.group_by || learning.enabled != other.learning.enabled) return false;
  if (!rules || !other.rules) return !rules && !other.rules;
  return same_rules(*rules, *other.rules);
}

bool LabelConfig::can_produce(std::string_view key) const {
  return learning.enabled || initial_can_produce(key);  // learned keys are not known in advance
}

bool LabelConfig::initial_can_produce(std::string_view key) const {
  if (rules) {
    auto leaves = rule_groups();
    return std::binary_search(leaves.begin(), leaves.end(), key);
  }
  if (group_by.empty()) return key == "global";
  // Feature-list keys are "Name=value;Name=value" in group_by order; values
  // are escaped so ';' and '=' only ever separate.
  std::size_t pos = 0;
  for (std::size_t i = 0; i < group_by.size(); ++i) {
    const auto& name = group_by[i];
    if (key.compare(pos, name.size(), name) != 0 || pos + name.size() >= key.size() ||
        key[pos + name.size()] != '=')
      return false;
    auto end = key.find(';', pos);
    if ((i + 1 < group_by.size()) != (end != std::string_view::npos)) return false;
    pos = end == std::string_view::npos ? key.size() : end + 1;
  }
  return pos == key.size();
}

LabelConfig parse_label_config(const std::string& yaml, const std::string& source) {
  Context ctx(source);
  YAML::Node root = load_yaml(yaml, source);
  LabelConfig config;
  config.source = source;
  if (root.IsNull()) return config;
  ctx.only_keys(root, "", {"features", "grouping", "policy", "groups", "lifecycle", "limits"});

  if (auto features = root["features"]) {
    try {
      config.schema = FeatureSchema(ctx.string_list(features, "features"));
    } catch (const InvalidInput& e) {
      ctx.fail(features, "features", e.what());
    }
  }

  if (auto grouping = root["grouping"]) {
    ctx.only_keys(grouping, "grouping",
                  {"by", "rules", "learn", "regroup_interval_s", "sample_rate", "window",
                   "min_samples", "min_group_size", "max_depth", "features", "false_split_rate",
                   "min_effect", "min_cell_samples"});
    if (grouping["by"] && grouping["rules"])
      ctx.fail(grouping, "grouping", "give either 'by' or 'rules', not both");
    auto& learning = config.learning;
    if (auto learn = grouping["learn"]) {
      learning.enabled = ctx.scalar<bool>(learn, "grouping.learn", "true or false");
      if (learning.enabled && grouping["rules"])
        ctx.fail(learn, "grouping.learn",
                 "a 'rules' tree is a fixed grouping: give 'learn: true' with 'by' (the starting "
                 "grouping), or 'rules' without it");
    }
    if (grouping["rules"]) learning.enabled = false;
    if (auto n = grouping["regroup_interval_s"])
      learning.regroup_interval_s = ctx.number(n, "grouping.regroup_interval_s", 0.1, 1e6);
    if (auto n = grouping["sample_rate"])
      learning.sample_rate = ctx.number(n, "grouping.sample_rate", 1e-9, 1);
    auto& regrouper = learning.regrouper;
    if (auto n = grouping["window"])
      regrouper.window = static_cast<std::size_t>(ctx.number(n, "grouping.window", 1, 1e8));
    if (auto n = grouping["min_samples"])
      regrouper.min_samples =
          static_cast<std::size_t>(ctx.number(n, "grouping.min_samples", 1, 1e8));
    if (regrouper.min_samples > regrouper.window)
      ctx.fail(grouping["min_samples"] ? grouping["min_samples"] : grouping["window"],
               grouping["min_samples"] ? "grouping.min_samples" : "grouping.window",
               "min_samples (" + std::to_string(regrouper.min_samples) +
                   ") must not exceed window (" + std::to_string(regrouper.window) +
                   "): the learner would never start");
    read_learner_options(ctx, grouping, "grouping.", &config.schema, regrouper.learner);
    if (auto by = grouping["by"]) {
      config.group_by = ctx.string_list(by, "grouping.by");
      for (std::size_t i = 0; i < config.group_by.size(); ++i)
        if (!config.schema.index_of(config.group_by[i]))
          ctx.fail(by[i], "grouping.by[" + std::to_string(i) + "]",
                   "unknown feature '" + config.group_by[i] + "'");
    }
    if (auto rules = grouping["rules"]) {
      config.rules = std::make_shared<const RuleNode>(
          read_rule(ctx, rules, "grouping.rules", config.schema, 0));
      config.group_by.clear();
    }
  }

  if (config.learning.enabled) {
    // Core's own checks too, so nothing fails later when the node starts one.
    try {
      Regrouper(config.schema, config.learning.regrouper, make_feature_grouping(config.schema, {}));
    } catch (const InvalidInput& e) {
      ctx.fail(root["grouping"], "grouping", e.what());
    }
  }

  if (auto policy = root["policy"]) read_policy(ctx, policy, "policy", config.default_policy);

  if (auto groups = root["groups"]) {
    if (!groups.IsSequence()) ctx.fail(groups, "groups", "expected a list of {match, policy}");
    for (std::size_t i = 0; i < groups.size(); ++i) {
      auto field = "groups[" + std::to_string(i) + "]";
      ctx.only_keys(groups[i], field, {"match", "policy"});
      GroupPolicyRule rule;
      auto match = groups[i]["match"];
      if (!match) ctx.fail(groups[i], field + ".match", "missing");
      rule.match = ctx.scalar<std::string>(match, field + ".match", "a glob pattern");
      rule.policy = config.default_policy;  // overrides merge over the default
      auto policy = groups[i]["policy"];
      if (!policy) ctx.fail(groups[i], field + ".policy", "missing");
      read_policy(ctx, policy, field + ".policy", rule.policy);
      config.group_policies.push_back(std::move(rule));
    }
  }

  if (auto lifecycle = root["lifecycle"]) {
    ctx.only_keys(lifecycle, "lifecycle",
                  {"passivate_after_s", "max_active_groups", "checkpoint_interval_s"});
    if (auto n = lifecycle["passivate_after_s"])
      config.passivate_after_s = ctx.number(n, "lifecycle.passivate_after_s", 0.01, 1e9);
    if (auto n = lifecycle["max_active_groups"])
      config.max_active_groups =
          static_cast<std::size_t>(ctx.number(n, "lifecycle.max_active_groups", 1, 1e8));
    if (auto n = lifecycle["checkpoint_interval_s"])
      config.checkpoint_interval_s = ctx.number(n, "lifecycle.checkpoint_interval_s", 0.01, 1e9);
  }

  if (auto limits = root["limits"]) {
    ctx.only_keys(limits, "limits", {"report_queue", "event_window_s", "event_capacity"});
    if (auto n = limits["report_queue"])
      config.report_queue_capacity =
          static_cast<std::size_t>(ctx.number(n, "limits.report_queue", 1, 1e9));
    if (auto n = limits["event_window_s"])
      config.event_window_s = ctx.number(n, "limits.event_window_s", 0.001, 1e9);
    if (auto n = limits["event_capacity"])
      config.event_capacity =
          static_cast<std::size_t>(ctx.number(n, "limits.event_capacity", 16, 1e9));
  }
  return config;
}

LabelConfig load_label_config(const std::string& path) {
  return parse_label_config(read_config_file(path), path);
}

std::vector<std::string> reload_refusals(const LabelConfig& running, const LabelConfig& next,
                                         bool cluster_member) {
  YAML::Node root;
  try {  // only for line numbers: the file parsed a moment ago
    root = YAML::Load(read_config_file(next.source));
  } catch (const std::exception&) {
  }
  std::vector<std::string> out;
  // "FILE:LINE: FIELD: needs a restart (why)", as Context::fail words errors.
  auto refuse = [&](const char* section, const char* key, const std::string& why) {
    // The key's own line (a mapping's value starts on the line after it).
    auto key_line = [](const YAML::Node& map, const char* name, YAML::Node* value) {
      if (!map.IsMap()) return 0;
      for (const auto& item : map)
        if (item.first.IsScalar() && item.first.Scalar() == name) {
          *value = item.second;
          return item.first.Mark().line + 1;
        }
      return 0;
    };
    YAML::Node part;
    int line = key_line(root, section, &part);
    if (key && line > 0)
      if (YAML::Node value; const int at = key_line(part, key, &value)) line = at;
    const auto field = key ? std::string(section) + "." + key : std::string(section);
    out.push_back(next.source + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " +
                  field + ": needs a restart (" + why + ")");
  };
  if (!(next.schema == running.schema))
    refuse("features", nullptr, "requests, groups and logs are keyed by the features");
  const std::string journal =
      "the event journal and the decision log's join window are sized at start";
  if (next.event_window_s != running.event_window_s) refuse("limits", "event_window_s", journal);
  if (next.event_capacity != running.event_capacity) refuse("limits", "event_capacity", journal);
  if (cluster_member) {
    const auto& a = running.learning;
    const auto& b = next.learning;
    const bool same = running.same_grouping(next) && a.regroup_interval_s == b.regroup_interval_s &&
                      a.sample_rate == b.sample_rate && a.regrouper == b.regrouper;
    if (!same)
      refuse("grouping", nullptr,
             "a cluster's grouping is set up at start and shared by its members: change it on "
             "every member and restart them");
  }
  return out;
}

namespace {

// Wire form of learned rules: group names and table values are arbitrary
// bytes (a legacy player may send any), which a YAML string cannot carry
// exactly (its escapes are code points, not bytes). So they travel
// %XX-escaped ('%', control bytes, bytes >= 0x7f) inside double quotes, and
// parse_rules() decodes them.
std::string percent_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (c == '%' || c < 0x20 || c >= 0x7f) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string percent_decode(const std::string& text, const std::string& source) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int hi = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
    int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) throw ConfigError(source + ": rules: bad %-escape in '" + text + "'");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// ASCII only by now (after percent_encode, or a schema feature name).
void quote(const std::string& text, std::string& out) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void rules_yaml(const RuleNode& node, std::string& out) {
  if (const auto* name = std::get_if<std::string>(&node.node)) {
    quote(percent_encode(*name), out);
    return;
  }
  const auto& split = std::get<RuleNode::Split>(node.node);
  out += "{feature: ";
  quote(split.feature, out);
  out += ", table: {";
  bool first = true;
  for (const auto& [value, child] : split.table) {
    if (!first) out += ", ";
    first = false;
    quote(percent_encode(value), out);
    out += ": ";
    rules_yaml(child, out);
  }
  out += "}, default: ";
  rules_yaml(*split.otherwise, out);
  out += '}';
}

RuleNode decoded(const RuleNode& node, const std::string& source) {
  RuleNode out;
  if (const auto* name = std::get_if<std::string>(&node.node)) {
    out.node = percent_decode(*name, source);
    if (std::get<std::string>(out.node).empty())
      throw ConfigError(source + ": rules: empty group name");
    return out;
  }
  const auto& split = std::get<RuleNode::Split>(node.node);
  RuleNode::Split copy;
  copy.feature = split.feature;
  for (const auto& [value, child] : split.table)
    copy.table.emplace(percent_decode(value, source), decoded(child, source));
  copy.otherwise = std::make_unique<RuleNode>(decoded(*split.otherwise, source));
  out.node = std::move(copy);
  return out;
}

}  // namespace

std::string rules_to_yaml(const RuleNode& root) {
  std::string out;
  rules_yaml(root, out);
  return out;
}

std::shared_ptr<const RuleNode> parse_rules(const std::string& yaml, const FeatureSchema& schema,
                                            const std::string& source) {
  Context ctx(source);
  auto root = load_yaml(yaml, source);
  return std::make_shared<const RuleNode>(
      decoded(read_rule(ctx, root, "rules", schema, 0), source));
}

bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace pytheas
