#include "config/label_config.hpp"

#include <yaml-cpp/yaml.h>

namespace pytheas {

std::unique_ptr<Grouping> LabelConfig::make_grouping() const {
  if (rules) return make_rule_tree_grouping(schema, rules);
  return make_feature_grouping(schema, group_by);
}

const PolicyConfig& LabelConfig::policy_for(std::string_view group_key) const {
  for (const auto& rule : group_policies)
    if (glob_match(rule.match, group_key)) return rule.policy;
  return default_policy;
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
