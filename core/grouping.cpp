#include "core/grouping.hpp"

#include <set>

#include "core/errors.hpp"

namespace pytheas {
namespace {

void check_arity(const FeatureSchema& schema, FeatureView features) {
  if (features.size() != schema.size())
    throw InvalidInput("grouping: got " + std::to_string(features.size()) +
                       " feature values, the schema has " + std::to_string(schema.size()));
}

// FeatureGrouping: key = "Name=value;Name=value" over a fixed feature list.
// Immutable; safe to share between threads.
class FeatureGrouping final : public Grouping {
 public:
  FeatureGrouping(const FeatureSchema& schema, const std::vector<std::string>& features)
      : schema_(schema) {
    std::set<std::string> seen;
    for (const auto& name : features) {
      auto index = schema.index_of(name);
      if (!index) throw InvalidInput("grouping: unknown feature '" + name + "'");
      if (!seen.insert(name).second)
        throw InvalidInput("grouping: feature '" + name + "' listed twice");
      std::string prefix;
      append_group_key_escaped(prefix, name);
      prefix.push_back('=');
      fields_.push_back({*index, std::move(prefix), name});
    }
  }

  std::string key(FeatureView features) const override {
    check_arity(schema_, features);
    if (fields_.empty()) return "global";
    std::string key;
    key.reserve(fields_.size() * 16);
    for (const auto& field : fields_) {
      if (!key.empty()) key.push_back(';');
      key += field.prefix;
      append_group_key_escaped(key, features[field.index]);
    }
    return key;
  }

  std::string describe() const override {
    std::string text = "features [";
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (i > 0) text += ", ";
      text += fields_[i].name;
    }
    return text + "]";
  }

 private:
  struct Field {
    std::size_t index;   // position in the schema
    std::string prefix;  // escaped "Name="
    std::string name;
  };
  FeatureSchema schema_;
  std::vector<Field> fields_;
};

// RuleTreeGrouping: the tree compiled into a flat node array with feature
// indices resolved, so key() only does map lookups. Immutable; thread-safe.
class RuleTreeGrouping final : public Grouping {
 public:
  RuleTreeGrouping(const FeatureSchema& schema, const RuleNode& root) : schema_(schema) {
    compile(root, 0);
  }

  std::string key(FeatureView features) const override {
    check_arity(schema_, features);
    std::size_t at = 0;
    // Each step moves to a node compiled after the current one, so this ends
    // within nodes_.size() steps.
    for (std::size_t steps = 0; steps <= nodes_.size(); ++steps) {
      const Node& node = nodes_[at];
      if (node.is_leaf) return node.group;
      auto it = node.table.find(features[node.feature]);
      at = it == node.table.end() ? node.otherwise : it->second;
    }
    throw InvalidInput("grouping: rule tree did not reach a leaf");  // unreachable
  }

  std::string describe() const override {
    std::size_t splits = 0;
    std::set<std::string> groups;
    for (const auto& node : nodes_) {
      if (node.is_leaf)
        groups.insert(node.group);
      else
        ++splits;
    }
    return "rule tree (" + std::to_string(splits) + " splits, " + std::to_string(groups.size()) +
           " groups)";
  }

 private:
  struct Node {
    bool is_leaf = false;
    std::string group;                                      // leaf
    std::size_t feature = 0;                                // split
    std::map<std::string, std::size_t, std::less<>> table;  // split: value -> node
    std::size_t otherwise = 0;                              // split: default node
  };

  static constexpr std::size_t kMaxDepth = 256;

  std::size_t compile(const RuleNode& source, std::size_t depth) {
    if (depth > kMaxDepth)
      throw InvalidInput("grouping: rule tree deeper than " + std::to_string(kMaxDepth));
    const std::size_t at = nodes_.size();
    nodes_.emplace_back();
    if (const auto* group = std::get_if<std::string>(&source.node)) {
      if (group->empty()) throw InvalidInput("grouping: rule tree leaf with an empty group name");
      nodes_[at].is_leaf = true;
      nodes_[at].group = *group;
      return at;
    }
    const auto& split = std::get<RuleNode::Split>(source.node);
    auto index = schema_.index_of(split.feature);
    if (!index)
      throw InvalidInput("grouping: rule tree splits on unknown feature '" + split.feature + "'");
    if (!split.otherwise)
      throw InvalidInput("grouping: rule tree split on '" + split.feature +
                         "' has no default branch");
    nodes_[at].feature = *index;
    for (const auto& [value, child] : split.table) {
      const std::size_t child_at = compile(child, depth + 1);
      nodes_[at].table.emplace(value, child_at);
    }
    nodes_[at].otherwise = compile(*split.otherwise, depth + 1);
    return at;
  }

  FeatureSchema schema_;
  std::vector<Node> nodes_;
};

}  // namespace

// Appends `text` to `out`, %XX-escaping the key's separators (';', '='), the
// escape character itself and every byte outside printable ASCII, so two
// different feature values can never produce the same key.
void append_group_key_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char byte : text) {
    if (byte == ';' || byte == '=' || byte == '%' || byte < 0x20 || byte > 0x7E) {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    } else {
      out.push_back(static_cast<char>(byte));
    }
  }
}

std::unique_ptr<Grouping> make_feature_grouping(const FeatureSchema& schema,
                                                const std::vector<std::string>& features) {
  return std::make_unique<FeatureGrouping>(schema, features);
}

std::unique_ptr<Grouping> make_rule_tree_grouping(const FeatureSchema& schema,
                                                  std::shared_ptr<const RuleNode> root) {
  if (!root) throw InvalidInput("grouping: rule tree without a root");
  return std::make_unique<RuleTreeGrouping>(schema, *root);
}

}  // namespace pytheas
