#include "core/grouping_learner_rules.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/grouping_learner.hpp"

namespace pytheas {
namespace learner {
namespace {

// Applies the previous rule tree to the interned samples. It can only when
// every feature it splits on is a candidate (whose values are interned).
class PreviousMapper {
 public:
  PreviousMapper(const FeatureSchema& schema, const std::vector<std::size_t>& candidates,
                 const Columns& columns, const std::vector<Interner>& interners)
      : schema_(schema), candidates_(candidates), columns_(columns), interners_(interners) {}

  PreviousGroups map(const RuleNode& root) {
    PreviousGroups out;
    if (!compile(root, 0)) return out;
    out.group_of_row.resize(columns_.rows);
    out.rows.assign(names_.size(), 0);
    for (std::size_t row = 0; row < columns_.rows; ++row) {
      std::size_t at = 0;
      while (!nodes_[at].is_leaf) {
        const auto& node = nodes_[at];
        at = node.child_of_code[columns_.codes[node.candidate][row]];
      }
      out.group_of_row[row] = nodes_[at].group;
      ++out.rows[nodes_[at].group];
    }
    out.names = std::move(names_);
    return out;
  }

 private:
  struct Node {
    bool is_leaf = false;
    std::uint32_t group = 0;
    std::size_t candidate = 0;
    std::vector<std::size_t> child_of_code;  // by value code; unlisted: the default
  };

  // Appends `source` (and its subtree) to nodes_; false when unmappable.
  bool compile(const RuleNode& source, std::size_t depth) {
    if (depth > kMaxDepthLimit) return false;
    const std::size_t at = nodes_.size();
    nodes_.emplace_back();
    if (const auto* group = std::get_if<std::string>(&source.node)) {
      auto [it, inserted] = group_ids_.try_emplace(*group, names_.size());
      if (inserted) names_.push_back(*group);
      nodes_[at].is_leaf = true;
      nodes_[at].group = static_cast<std::uint32_t>(it->second);
      return true;
    }
    const auto& split = std::get<RuleNode::Split>(source.node);
    auto index = schema_.index_of(split.feature);
    if (!index || !split.otherwise) return false;
    auto candidate = std::find(candidates_.begin(), candidates_.end(), *index);
    if (candidate == candidates_.end()) return false;
    const auto c = static_cast<std::size_t>(candidate - candidates_.begin());
    nodes_[at].candidate = c;
    std::vector<std::pair<std::uint32_t, std::size_t>> listed;
    for (const auto& [value, child] : split.table) {
      const std::size_t child_at = nodes_.size();
      if (!compile(child, depth + 1)) return false;
      if (auto code = interners_[c].find(value)) listed.emplace_back(*code, child_at);
    }
    const std::size_t otherwise_at = nodes_.size();
    if (!compile(*split.otherwise, depth + 1)) return false;
    auto& table = nodes_[at].child_of_code;
    table.assign(columns_.values[c].size(), otherwise_at);
    for (const auto& [code, child_at] : listed) table[code] = child_at;
    return true;
  }

  const FeatureSchema& schema_;
  const std::vector<std::size_t>& candidates_;
  const Columns& columns_;
  const std::vector<Interner>& interners_;
  std::vector<Node> nodes_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::size_t> group_ids_;
};

}  // namespace

void append_name_value(std::string& out, std::string_view value) {
  std::size_t start = 0;
  for (;;) {
    const auto star = value.find('*', start);
    append_group_key_escaped(out, value.substr(start, star - start));
    if (star == std::string_view::npos) return;
    out += "%2A";
    start = star + 1;
  }
}

PreviousGroups groups_of(const Grouping& grouping, std::span<const GroupingSample> samples) {
  PreviousGroups out;
  out.group_of_row.resize(samples.size());
  std::unordered_map<std::string, std::uint32_t> ids;
  std::vector<std::string_view> values;
  for (std::size_t row = 0; row < samples.size(); ++row) {
    values.assign(samples[row].features.begin(), samples[row].features.end());
    auto [it, inserted] =
        ids.try_emplace(grouping.key(FeatureView(values)), static_cast<std::uint32_t>(ids.size()));
    if (inserted) {
      out.names.push_back(it->first);
      out.rows.push_back(0);
    }
    out.group_of_row[row] = it->second;
    ++out.rows[it->second];
  }
  return out;
}

PreviousGroups map_previous_rules(const RuleNode& root, const FeatureSchema& schema,
                                  const std::vector<std::size_t>& candidates,
                                  const Columns& columns, const std::vector<Interner>& interners) {
  return PreviousMapper(schema, candidates, columns, interners).map(root);
}

}  // namespace learner

namespace {

void format_node(const RuleNode& node, std::size_t depth, std::string& out) {
  const auto* split = std::get_if<RuleNode::Split>(&node.node);
  const std::string indent(2 * depth, ' ');
  auto branch = [&](const std::string& label, const RuleNode& child) {
    out += indent + split->feature + " = " + label + ":";
    if (const auto* group = std::get_if<std::string>(&child.node)) {
      out += " " + *group + "\n";
    } else {
      out += "\n";
      format_node(child, depth + 1, out);
    }
  };
  for (const auto& [value, child] : split->table) branch(value, child);
  if (split->otherwise) branch("*", *split->otherwise);
}

}  // namespace

std::string format_rules(const RuleNode& root) {
  if (const auto* group = std::get_if<std::string>(&root.node)) return *group + "\n";
  std::string out;
  format_node(root, 0, out);
  return out;
}

}  // namespace pytheas
