#include "config/label_config.hpp"

#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "test/support/temp_dir.hpp"

using namespace pytheas;

namespace {
// The message of the ConfigError that parsing `yaml` throws.
std::string error_of(const std::string& yaml) {
  try {
    parse_label_config(yaml, "labels.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("defaults are the original's: 15 labels, group by Asn, D-UCB", "[config]") {
  LabelConfig config;
  CHECK(config.schema.size() == 15);
  CHECK(config.group_by == std::vector<std::string>{"Asn"});
  CHECK(config.default_policy.kind == "ducb");
  auto empty = parse_label_config("", "empty.yaml");
  CHECK(empty.group_by == config.group_by);
  CHECK(empty.default_policy == config.default_policy);
}

TEST_CASE("the example file in config/ parses", "[config]") {
  auto config = load_label_config(PYTHEAS_SOURCE_DIR "/config/labels.example.yaml");
  CHECK(config.group_by == std::vector<std::string>{"Asn"});
  REQUIRE(config.group_policies.size() == 1);
  CHECK(config.policy_for("Asn=7922").kind == "thompson");
  CHECK(config.policy_for("Asn=701").kind == "ducb");
  // Overrides merge over the default policy.
  CHECK(config.policy_for("Asn=7922").half_life_s == config.default_policy.half_life_s);
}

TEST_CASE("policies, lifecycle and limits are read", "[config]") {
  auto config = parse_label_config(R"(
grouping: {by: [Asn, City]}
policy: {kind: swucb, window_s: 30, exploration: 2}
lifecycle: {passivate_after_s: 5, max_active_groups: 7, checkpoint_interval_s: 2}
limits: {report_queue: 10, event_window_s: 60, event_capacity: 1000}
)",
                                   "x.yaml");
  CHECK(config.group_by == std::vector<std::string>{"Asn", "City"});
  CHECK(config.default_policy.kind == "swucb");
  CHECK(config.default_policy.window_s == 30);
  CHECK(config.default_policy.exploration == 2);
  CHECK(config.passivate_after_s == 5);
  CHECK(config.max_active_groups == 7);
  CHECK(config.checkpoint_interval_s == 2);
  CHECK(config.report_queue_capacity == 10);
  CHECK(config.event_window_s == 60);
  CHECK(config.event_capacity == 1000);
}

TEST_CASE("the original preset reproduces the original decision maker", "[config]") {
  auto config = parse_label_config("policy: {preset: original}", "x.yaml");
  CHECK(config.default_policy == PolicyConfig::original_ducb());
}

TEST_CASE("errors name the file, the line and the field", "[config]") {
  CHECK(error_of("policy:\n  kind: bogus\n") ==
        "labels.yaml:2: policy.kind: unknown policy 'bogus' (expected ducb, swucb, ucb, egreedy, "
        "thompson, random or fixed)");
  CHECK(error_of("grouping:\n  by: [Asn, Planet]\n")
            .find("labels.yaml:2: grouping.by[1]: unknown "
                  "feature 'Planet'") == 0);
  CHECK(error_of("polcy: {}\n").find("labels.yaml:1: polcy: unknown key") == 0);
  CHECK(
      error_of("policy:\n  half_life_s: -3\n").find("labels.yaml:2: policy.half_life_s: must be") ==
      0);
  CHECK(error_of("policy:\n  epsilon: lots\n").find("policy.epsilon: expected a number") !=
        std::string::npos);
  CHECK(error_of("grouping:\n  rules:\n    feature: Asn\n    table: {a: g}\n")
            .find("grouping.rules.default: missing") != std::string::npos);
  CHECK(error_of("grouping: {by: [Asn], rules: g}").find("either 'by' or 'rules'") !=
        std::string::npos);
  CHECK(error_of("policy: {kind: fixed}").find("needs fixed_decision") != std::string::npos);
  CHECK(error_of("features: [A, A]").find("labels.yaml:1: features: ") == 0);
  CHECK(error_of("policy: [unclosed").find("labels.yaml:1: yaml: ") == 0);
}

TEST_CASE("a key that is not a plain scalar is a ConfigError", "[config]") {
  // Regression (fuzz_label_config): a sequence or map used as a key escaped as
  // yaml-cpp's TypedBadConversion instead of a ConfigError.
  CHECK(error_of("#in th.\ngrouping:\n[  by: Asg]  # ") ==
        "labels.yaml:3: key: expected a plain key");
  CHECK(error_of("policy:\n  {a: 1}: ducb\n").find("policy: expected a plain key") !=
        std::string::npos);
  CHECK(error_of("grouping:\n  rules:\n    feature: Asn\n    table: {[x]: g}\n    default: d\n")
            .find("grouping.rules.table: expected a plain value key") != std::string::npos);
}

TEST_CASE("a missing file is a ConfigError naming it", "[config]") {
  CHECK_THROWS_WITH(load_label_config("/nonexistent/labels.yaml"),
                    "/nonexistent/labels.yaml: cannot read file");
}

TEST_CASE("rule trees list their groups and gate keys", "[config]") {
  auto config = parse_label_config(R"(
grouping:
  rules:
    feature: Asn
    table:
      "7922": {feature: City, table: {Boston: comcast-boston}, default: comcast-other}
      "701": verizon
    default: rest
)",
                                   "x.yaml");
  CHECK_FALSE(config.learning.enabled);  // a rules tree is a fixed grouping
  CHECK(config.rule_groups() ==
        std::vector<std::string>{"comcast-boston", "comcast-other", "rest", "verizon"});
  CHECK(config.can_produce("verizon"));
  CHECK_FALSE(config.can_produce("Asn=701"));
}

TEST_CASE("fixed feature-list configs recognise their own keys", "[config]") {
  auto config = parse_label_config("grouping: {by: [Asn, City], learn: false}", "x.yaml");
  CHECK_FALSE(config.learning.enabled);
  CHECK(config.can_produce("Asn=7922;City=Boston"));
  CHECK(config.can_produce("Asn=;City="));
  CHECK_FALSE(config.can_produce("Asn=7922"));
  CHECK_FALSE(config.can_produce("City=Boston;Asn=7922"));
  CHECK_FALSE(config.can_produce("global"));
  auto global = parse_label_config("grouping: {by: [], learn: false}", "x.yaml");
  CHECK(global.can_produce("global"));
  CHECK_FALSE(global.can_produce("Asn=1"));
}

TEST_CASE("by default a node learns its grouping, starting from [Asn]", "[config][learning]") {
  for (const auto* yaml : {"", "grouping: {by: [Asn]}", "policy: {kind: ducb}"}) {
    INFO("'" << yaml << "'");
    const auto config = parse_label_config(yaml, "x.yaml");
    CHECK(config.group_by == std::vector<std::string>{"Asn"});
    CHECK(config.learning.enabled);
    CHECK(config.learning.regroup_interval_s == 30);
    CHECK(config.learning.sample_rate == 1);
    CHECK(config.learning.regrouper.window == 200000);
    CHECK(config.learning.regrouper.min_samples == 5000);
    CHECK(config.learning.regrouper.learner.min_group_size == 100);
    CHECK(config.learning.regrouper.learner.candidate_features.empty());  // the defaults
    // Learned keys are not known in advance: a reload retires nothing.
    CHECK(config.can_produce("Asn=7922"));
    CHECK(config.can_produce("City=Boston"));
    CHECK(config.can_produce("Asn=*"));
    CHECK(config.rule_groups().empty());
    CHECK(config.make_grouping()->describe() == "features [Asn]");  // the starting grouping
    CHECK(config.initial_can_produce("Asn=7922"));
    CHECK_FALSE(config.initial_can_produce("City=Boston"));
  }
  CHECK(LabelConfig{}.learning.enabled);
}

TEST_CASE("the grouping section's learner settings are read", "[config][learning]") {
  const auto config = parse_label_config(R"(
grouping:
  by: [Asn, City]
  learn: true
  regroup_interval_s: 12
  sample_rate: 0.5
  window: 50000
  min_samples: 2000
  min_group_size: 40
  max_depth: 3
  features: [Asn, City, ConnType]
  false_split_rate: 0.001
  min_effect: 0.2
  min_cell_samples: 25
)",
                                         "x.yaml");
  const auto& learning = config.learning;
  CHECK(learning.enabled);
  CHECK(config.group_by == std::vector<std::string>{"Asn", "City"});
  CHECK(learning.regroup_interval_s == 12);
  CHECK(learning.sample_rate == 0.5);
  CHECK(learning.regrouper.window == 50000);
  CHECK(learning.regrouper.min_samples == 2000);
  const auto& learner = learning.regrouper.learner;
  CHECK(learner.min_group_size == 40);
  CHECK(learner.max_depth == 3);
  CHECK(learner.candidate_features == std::vector<std::string>{"Asn", "City", "ConnType"});
  CHECK(learner.false_split_rate == 0.001);
  CHECK(learner.min_effect == 0.2);
  CHECK(learner.min_cell_samples == 25);
}

TEST_CASE("same_grouping: by, rules and learning on/off, not the learner's knobs",
          "[config][learning]") {
  const auto base = parse_label_config("grouping: {by: [Asn]}", "x.yaml");
  CHECK(
      base.same_grouping(parse_label_config("grouping: {by: [Asn], window: 1000, min_samples: "
                                            "10}",
                                            "x.yaml")));
  CHECK(base.same_grouping(parse_label_config("", "x.yaml")));
  CHECK_FALSE(base.same_grouping(parse_label_config("grouping: {by: [Asn, City]}", "x.yaml")));
  CHECK_FALSE(base.same_grouping(parse_label_config("grouping: {learn: false}", "x.yaml")));
  const auto tree = parse_label_config("grouping: {rules: {feature: Asn, default: g}}", "x.yaml");
  CHECK(tree.same_grouping(
      parse_label_config("grouping: {rules: {feature: Asn, default: g}}", "x.yaml")));
  CHECK_FALSE(tree.same_grouping(
      parse_label_config("grouping: {rules: {feature: Asn, default: h}}", "x.yaml")));
  CHECK_FALSE(tree.same_grouping(base));
}

TEST_CASE("bad learner settings name the file, the line and the field", "[config][learning]") {
  CHECK(error_of("grouping:\n  by: [Asn]\n  max_depth: 99\n")
            .find("labels.yaml:3: grouping.max_depth: must be in [0, 16]") == 0);
  CHECK(error_of("grouping:\n  window: 0\n").find("labels.yaml:2: grouping.window: must be") == 0);
  CHECK(error_of("grouping:\n  min_group_size: many\n")
            .find("labels.yaml:2: grouping.min_group_size: expected a number") == 0);
  CHECK(error_of("grouping:\n  false_split_rate: 0\n")
            .find("labels.yaml:2: grouping.false_split_rate: must be in") == 0);
  CHECK(error_of("grouping:\n  min_effect: -1\n")
            .find("labels.yaml:2: grouping.min_effect: must be in") == 0);
  CHECK(error_of("grouping:\n  min_cell_samples: 1\n")
            .find("labels.yaml:2: grouping.min_cell_samples: must be in") == 0);
  CHECK(error_of("grouping:\n  sample_rate: 0\n")
            .find("labels.yaml:2: grouping.sample_rate: must be in") == 0);
  CHECK(error_of("grouping:\n  regroup_interval_s: -5\n")
            .find("labels.yaml:2: grouping.regroup_interval_s: must be in") == 0);
  CHECK(error_of("grouping:\n  features: [Asn,\n    Planet]\n")
            .find("labels.yaml:3: grouping.features[1]: unknown feature 'Planet'") == 0);
  CHECK(error_of("grouping:\n  window: 100\n  min_samples: 500\n")
            .find("labels.yaml:3: grouping.min_samples: min_samples (500) must not exceed window "
                  "(100)") == 0);
  CHECK(error_of("grouping:\n  learn: maybe\n")
            .find("labels.yaml:2: grouping.learn: expected true or false") == 0);
  CHECK(error_of("grouping:\n  rules: {feature: Asn, default: g}\n  learn: true\n")
            .find("labels.yaml:3: grouping.learn: a 'rules' tree is a fixed grouping") == 0);
  CHECK(error_of("grouping:\n  windw: 10\n").find("labels.yaml:2: grouping.windw: unknown key") ==
        0);
  // `learn: false` pins the grouping: rules with learn: false is fine.
  CHECK(error_of("grouping:\n  rules: {feature: Asn, default: g}\n  learn: false\n") ==
        "(no error)");
}

TEST_CASE("glob patterns", "[config]") {
  CHECK(glob_match("Asn=79*", "Asn=7922"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("Asn=?922", "Asn=7922"));
  CHECK_FALSE(glob_match("Asn=79*", "Asn=701"));
  CHECK(glob_match("*;City=Boston", "Asn=1;City=Boston"));
  CHECK_FALSE(glob_match("a*b", "ac"));
}

TEST_CASE("rules survive rules_to_yaml and parse_rules, odd characters included", "[config]") {
  auto config = parse_label_config(R"(
grouping:
  rules:
    feature: Asn
    table:
      "7922": {feature: City, table: {"Bos\"ton": a, "x\\y": "b;c=*"}, default: "Asn=7922;City=*"}
    default: global
)",
                                   "r.yaml");
  REQUIRE(config.rules);
  auto text = rules_to_yaml(*config.rules);
  auto back = parse_rules(text, config.schema, "wire");
  CHECK(rules_to_yaml(*back) == text);
  auto grouping = make_rule_tree_grouping(config.schema, back);
  std::vector<std::string> values(config.schema.size());
  values[*config.schema.index_of("Asn")] = "7922";
  values[*config.schema.index_of("City")] = "Bos\"ton";
  auto key = [&] {
    std::vector<std::string_view> view(values.begin(), values.end());
    return grouping->key(view);
  };
  CHECK(key() == "a");
  values[*config.schema.index_of("City")] = "x\\y";
  CHECK(key() == "b;c=*");
  CHECK_THROWS_AS(parse_rules("{feature: Nope, default: x}", config.schema, "wire"), ConfigError);
  CHECK_THROWS_AS(parse_rules("{feature: Asn, default: \"x%G1\"}", config.schema, "wire"),
                  ConfigError);
}

TEST_CASE("learned rules carry any bytes exactly: UTF-8, invalid UTF-8, '%'", "[config]") {
  auto root = std::make_shared<RuleNode>();
  RuleNode::Split split;
  split.feature = "City";
  for (std::string value : {"Z\xC3\xBCrich", "bad\xFF\xEC", "100%", "tab\there"}) {
    RuleNode leaf;
    leaf.node = "g-" + value;
    split.table.emplace(value, std::move(leaf));
  }
  split.otherwise = std::make_unique<RuleNode>();
  split.otherwise->node = std::string("rest");
  root->node = std::move(split);
  auto text = rules_to_yaml(*root);
  auto back = parse_rules(text, FeatureSchema::original(), "wire");
  CHECK(rules_to_yaml(*back) == text);
  const auto& table = std::get<RuleNode::Split>(back->node).table;
  REQUIRE(table.count("bad\xFF\xEC"));
  CHECK(std::get<std::string>(table.at("bad\xFF\xEC").node) == "g-bad\xFF\xEC");
  CHECK(table.count("Z\xC3\xBCrich"));
  CHECK(table.count("100%"));
}

TEST_CASE("a reload refuses restart-only keys with FILE:LINE: FIELD, and only those",
          "[config][reload]") {
  pytheas::test::TempDir dir("pytheas-labels");
  const std::string base = "grouping:\n  by: [Asn]\nlimits:\n  report_queue: 10\n";
  auto running = load_label_config(dir.write("a.yaml", base));
  auto path = dir.write("b.yaml", "policy:\n  kind: swucb\n" + base + "  event_window_s: 60\n");
  auto next = load_label_config(path);
  auto refusals = reload_refusals(running, next, false);
  REQUIRE(refusals.size() == 1);
  CHECK(refusals[0].starts_with(path + ":7: limits.event_window_s: needs a restart"));
  // Grouping, policy and queue changes take effect on an all-in-one node...
  auto other = load_label_config(dir.write("c.yaml", "grouping:\n  by: [City]\n  learn: false\n"));
  CHECK(reload_refusals(running, other, false).empty());
  // ...but a cluster member's grouping is the cluster's.
  auto on_member = reload_refusals(running, other, true);
  REQUIRE(on_member.size() == 1);
  CHECK(on_member[0].find(":1: grouping: needs a restart") != std::string::npos);
  auto features = load_label_config(dir.write("d.yaml", "features: [Asn, City]\n"));
  auto refused = reload_refusals(running, features, false);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].find("d.yaml:1: features: needs a restart") != std::string::npos);
}
