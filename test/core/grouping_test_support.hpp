#pragma once
// Helpers shared by the grouping, learner and regrouper tests: a standard
// normal draw from a seeded Rng, and rule-tree builders. Stateless.

#include <cmath>
#include <map>
#include <memory>
#include <numbers>
#include <string>

#include "core/grouping.hpp"
#include "core/rng.hpp"

namespace pytheas::test {

/// A standard normal draw (Box-Muller; 1 - uniform() is in (0, 1]).
inline double normal(Rng& rng) {
  const double u1 = 1.0 - rng.uniform();
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

inline RuleNode leaf(std::string group) {
  return RuleNode{std::move(group)};
}

inline RuleNode split(std::string feature, std::map<std::string, RuleNode> table,
                      RuleNode otherwise) {
  RuleNode::Split node;
  node.feature = std::move(feature);
  node.table = std::move(table);
  node.otherwise = std::make_unique<RuleNode>(std::move(otherwise));
  return RuleNode{std::move(node)};
}

}  // namespace pytheas::test
