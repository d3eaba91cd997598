#include "core/grouping_learner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/errors.hpp"

namespace pytheas {
namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kMaxDepthLimit = 64;

// The samples as integer columns: feature values, decisions and clusters are
// interned once, so the tree search touches only integers and doubles. Views
// point into the caller's samples, which outlive the learn() call.
struct Columns {
  std::size_t rows = 0;
  std::vector<std::vector<std::uint32_t>> codes;      // [candidate][row]
  std::vector<std::vector<std::string_view>> values;  // [candidate][code]
  std::vector<std::uint32_t> decision;                // [row]
  std::size_t decisions = 0;
  std::vector<std::uint32_t> cluster;           // [row]; 0: none
  std::vector<std::string_view> cluster_names;  // [code]; [0] = ""
  std::vector<double> score;                    // [row], centred on the mean
};

class Interner {
 public:
  explicit Interner(std::vector<std::string_view>& names) : names_(names) {}
  std::uint32_t operator()(std::string_view value) {
    auto [it, inserted] = ids_.try_emplace(value, static_cast<std::uint32_t>(names_.size()));
    if (inserted) names_.push_back(value);
    return it->second;
  }
  std::optional<std::uint32_t> find(std::string_view value) const {
    auto it = ids_.find(value);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::vector<std::string_view>& names_;
  std::unordered_map<std::string_view, std::uint32_t> ids_;
};

// Per-decision sufficient statistics of the scores in one cell.
struct Cell {
  double n = 0, sum = 0, sum_sq = 0;
  void add(double x) {
    n += 1;
    sum += x;
    sum_sq += x * x;
  }
  void add(const Cell& other) {
    n += other.n;
    sum += other.sum;
    sum_sq += other.sum_sq;
  }
  // Sum of squared deviations from the cell mean.
  double sse() const { return n > 0 ? std::max(0.0, sum_sq - sum * sum / n) : 0.0; }
};

// Appends a value to a group name: escaped as in feature-list keys, and '*'
// (which names a default branch) as %2A.
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

// Chi-square statistic -> standard normal deviate (Wilson-Hilferty), good to
// a few percent for any degrees of freedom, which is plenty for a threshold.
double chi_square_z(double statistic, double df) {
  const double a = 2.0 / (9.0 * df);
  return (std::cbrt(statistic / df) - (1.0 - a)) / std::sqrt(a);
}

// Which group of the previous grouping each sample falls in, so a new group
// with (nearly) the same members can keep its old name.
struct PreviousGroups {
  std::vector<std::uint32_t> group_of_row;  // empty: the previous rules cannot be applied
  std::vector<std::string> names;           // by group id
  std::vector<std::size_t> rows;            // samples per group id
};

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

// A candidate split of one node.
struct SplitPlan {
  std::size_t candidate = 0;
  double gain = 0;
  std::vector<std::uint32_t> branches;  // value codes with their own branch
};

// Grows the rule tree over `order` (row indices), one node at a time. Not
// thread-safe; one per learn() call.
class TreeBuilder {
 public:
  TreeBuilder(const FeatureSchema& schema, const GroupingLearnerOptions& options,
              const std::vector<std::size_t>& candidates, const Columns& columns,
              const LearnedGrouping* previous, PreviousGroups previous_groups)
      : schema_(schema),
        options_(options),
        candidates_(candidates),
        columns_(columns),
        previous_(previous),
        previous_groups_(std::move(previous_groups)),
        used_(candidates.size(), false),
        order_(columns.rows),
        buffer_(columns.rows) {
    for (std::size_t r = 0; r < columns.rows; ++r) order_[r] = static_cast<std::uint32_t>(r);
    for (const auto& values : columns.values) {
      slot_of_.emplace_back(values.size(), kNone);
      branch_of_.emplace_back(values.size(), kNone);
    }
    cluster_counts_.assign(columns.cluster_names.size(), 0);
    overlap_.assign(previous_groups_.names.size(), 0);
  }

  LearnedGrouping build() {
    const RuleNode* previous_root = previous_ ? previous_->rules.get() : nullptr;
    RuleNode root = grow(0, columns_.rows, 0, previous_root);
    for (const auto& leaf : leaves_) path_names_.insert(leaf.path_name);
    name_leaves(root);
    result_.rules = std::make_shared<const RuleNode>(std::move(root));
    result_.samples = columns_.rows;
    for (std::size_t c = 0; c < candidates_.size(); ++c)
      if (split_on_[c]) result_.split_features.push_back(schema_.name(candidates_[c]));
    return std::move(result_);
  }

 private:
  RuleNode grow(std::size_t begin, std::size_t end, std::size_t depth, const RuleNode* previous) {
    const std::size_t rows = end - begin;
    if (depth >= options_.max_depth || rows < 2 * options_.min_group_size) return leaf(begin, end);
    std::vector<Cell> node_cells(columns_.decisions);
    for (std::size_t i = begin; i < end; ++i) {
      const auto row = order_[i];
      node_cells[columns_.decision[row]].add(columns_.score[row]);
    }
    double node_sse = 0;
    std::size_t node_cell_count = 0;
    for (const auto& cell : node_cells) {
      node_sse += cell.sse();
      node_cell_count += cell.n > 0;
    }
    if (!(node_sse > 0)) return leaf(begin, end);

    const auto* previous_split = previous ? std::get_if<RuleNode::Split>(&previous->node) : nullptr;
    std::optional<SplitPlan> best, sticky;
    for (std::size_t c = 0; c < candidates_.size(); ++c) {
      if (used_[c]) continue;
      const bool was_split_here =
          previous_split && previous_split->feature == schema_.name(candidates_[c]);
      auto plan = evaluate(c, begin, end, node_sse, node_cell_count,
                           was_split_here ? previous_split : nullptr);
      if (!plan) continue;
      if (was_split_here) sticky = *plan;
      if (!best || plan->gain > best->gain) best = std::move(plan);
    }
    if (!best) return leaf(begin, end);
    if (sticky && sticky->gain >= (1 - options_.sticky_split_margin) * best->gain)
      best = std::move(sticky);
    return split(*best, begin, end, depth, previous_split);
  }

  // The best branch set for splitting on candidate `c`, if the split passes
  // the significance and minimum-gain tests.
  std::optional<SplitPlan> evaluate(std::size_t c, std::size_t begin, std::size_t end,
                                    double node_sse, std::size_t node_cell_count,
                                    const RuleNode::Split* previous_split) {
    const std::size_t decisions = columns_.decisions;
    const auto& codes = columns_.codes[c];
    for (auto code : touched_) slot_of_[touched_candidate_][code] = kNone;
    touched_.clear();
    touched_candidate_ = c;
    auto& slot_of = slot_of_[c];
    cells_.clear();
    counts_.clear();
    for (std::size_t i = begin; i < end; ++i) {
      const auto row = order_[i];
      const auto code = codes[row];
      auto slot = slot_of[code];
      if (slot == kNone) {
        slot = static_cast<std::uint32_t>(touched_.size());
        slot_of[code] = slot;
        touched_.push_back(code);
        cells_.resize(cells_.size() + decisions);
        counts_.push_back(0);
      }
      cells_[slot * decisions + columns_.decision[row]].add(columns_.score[row]);
      ++counts_[slot];
    }
    if (touched_.size() < 2) return std::nullopt;

    // Values with enough samples get a branch; with a previous split on this
    // feature, values new to it need a margin more (hysteresis).
    const auto min_size = options_.min_group_size;
    const auto new_min = static_cast<std::size_t>(
        std::ceil(static_cast<double>(min_size) * (1 + options_.new_branch_margin)));
    std::vector<std::uint32_t> slots;
    std::size_t default_rows = end - begin;
    for (std::uint32_t s = 0; s < touched_.size(); ++s) {
      std::size_t needed = min_size;
      if (previous_split &&
          !previous_split->table.contains(std::string(columns_.values[c][touched_[s]])))
        needed = new_min;
      if (counts_[s] >= needed) {
        slots.push_back(s);
        default_rows -= counts_[s];
      }
    }
    // A default branch with samples must be a full group too: fold the
    // smallest branches into it until it is.
    if (default_rows > 0 && default_rows < min_size) {
      std::sort(slots.begin(), slots.end(), [&](std::uint32_t a, std::uint32_t b) {
        if (counts_[a] != counts_[b]) return counts_[a] < counts_[b];
        return columns_.values[c][touched_[a]] < columns_.values[c][touched_[b]];
      });
      std::size_t folded = 0;
      while (folded < slots.size() && default_rows < min_size)
        default_rows += counts_[slots[folded++]];
      slots.erase(slots.begin(), slots.begin() + static_cast<std::ptrdiff_t>(folded));
    }
    if (slots.empty() || (slots.size() == 1 && default_rows == 0)) return std::nullopt;

    double children_sse = 0;
    std::size_t children_cells = 0;
    std::vector<char> explicit_slot(touched_.size(), 0);
    for (auto s : slots) {
      explicit_slot[s] = 1;
      for (std::size_t d = 0; d < decisions; ++d) {
        const auto& cell = cells_[s * decisions + d];
        children_sse += cell.sse();
        children_cells += cell.n > 0;
      }
    }
    if (default_rows > 0) {
      std::vector<Cell> rest(decisions);
      for (std::uint32_t s = 0; s < touched_.size(); ++s)
        if (!explicit_slot[s])
          for (std::size_t d = 0; d < decisions; ++d) rest[d].add(cells_[s * decisions + d]);
      for (const auto& cell : rest) {
        children_sse += cell.sse();
        children_cells += cell.n > 0;
      }
    }
    const double rows = static_cast<double>(end - begin);
    const double df = static_cast<double>(children_cells) - static_cast<double>(node_cell_count);
    const double residual_df = rows - static_cast<double>(children_cells);
    const double gain = node_sse - children_sse;
    if (df <= 0 || residual_df <= 0 || !(gain > 0)) return std::nullopt;
    if (gain < options_.min_relative_gain * node_sse) return std::nullopt;
    // Residual variance: what is left within the children's cells. A perfect
    // split (no residual) is as significant as it gets.
    const double noise = children_sse / residual_df;
    if (noise > 0 && chi_square_z(gain / noise, df) < options_.significance_z) return std::nullopt;

    SplitPlan plan;
    plan.candidate = c;
    plan.gain = gain;
    for (auto s : slots) plan.branches.push_back(touched_[s]);
    return plan;
  }

  RuleNode split(const SplitPlan& plan, std::size_t begin, std::size_t end, std::size_t depth,
                 const RuleNode::Split* previous_split) {
    const std::size_t c = plan.candidate;
    const auto& codes = columns_.codes[c];
    const auto& values = columns_.values[c];
    const auto& feature = schema_.name(candidates_[c]);
    const bool same_as_previous = previous_split && previous_split->feature == feature;
    // Branches in value order (the table is ordered by value anyway); the
    // default branch is the last one.
    auto branches = plan.branches;
    std::sort(branches.begin(), branches.end(),
              [&](std::uint32_t a, std::uint32_t b) { return values[a] < values[b]; });
    auto& branch_of = branch_of_[c];
    for (std::uint32_t b = 0; b < branches.size(); ++b) branch_of[branches[b]] = b;
    const auto default_branch = static_cast<std::uint32_t>(branches.size());

    // Stable counting sort of the node's rows by branch.
    std::vector<std::size_t> starts(branches.size() + 2, 0);
    for (std::size_t i = begin; i < end; ++i) {
      const auto b = branch_of[codes[order_[i]]];
      ++starts[(b == kNone ? default_branch : b) + 1];
    }
    for (std::size_t b = 1; b < starts.size(); ++b) starts[b] += starts[b - 1];
    auto fill = starts;
    for (std::size_t i = begin; i < end; ++i) {
      const auto row = order_[i];
      const auto b = branch_of[codes[row]];
      buffer_[begin + fill[b == kNone ? default_branch : b]++] = row;
    }
    std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(begin),
              buffer_.begin() + static_cast<std::ptrdiff_t>(end),
              order_.begin() + static_cast<std::ptrdiff_t>(begin));
    for (auto code : branches) branch_of[code] = kNone;

    split_on_[c] = true;
    used_[c] = true;
    RuleNode::Split node;
    node.feature = feature;
    for (std::uint32_t b = 0; b <= branches.size(); ++b) {
      const bool is_default = b == default_branch;
      std::string value = is_default ? std::string() : std::string(values[branches[b]]);
      std::string condition;
      append_group_key_escaped(condition, feature);
      condition += '=';
      if (is_default)
        condition += '*';
      else
        append_name_value(condition, value);
      const RuleNode* previous_child = nullptr;
      if (same_as_previous) {
        if (is_default) {
          previous_child = previous_split->otherwise.get();
        } else if (auto it = previous_split->table.find(value); it != previous_split->table.end()) {
          previous_child = &it->second;
        }
      }
      path_.emplace_back(candidates_[c], std::move(condition));
      RuleNode child = grow(begin + starts[b], begin + starts[b + 1], depth + 1, previous_child);
      path_.pop_back();
      if (is_default)
        node.otherwise = std::make_unique<RuleNode>(std::move(child));
      else
        node.table.emplace(std::move(value), std::move(child));
    }
    used_[c] = false;
    return RuleNode{std::move(node)};
  }

  // Leaves get their final names in name_leaves(), once all path names are
  // known; until then a leaf holds its index in leaves_.
  RuleNode leaf(std::size_t begin, std::size_t end) {
    Leaf info;
    info.begin = begin;
    info.end = end;
    if (path_.empty()) {
      info.path_name = "global";
    } else {
      auto conditions = path_;
      std::sort(conditions.begin(), conditions.end());
      for (const auto& [index, condition] : conditions) {
        if (!info.path_name.empty()) info.path_name += ';';
        info.path_name += condition;
      }
    }
    info.previous_name = previous_name(begin, end);
    leaves_.push_back(std::move(info));
    return RuleNode{std::to_string(leaves_.size() - 1)};
  }

  // A leaf keeps the name of the previous group it nearly coincides with,
  // unless another leaf's path gives that name (a name always means the same
  // path when it can); else its path name.
  void name_leaves(RuleNode& node) {
    if (auto* split = std::get_if<RuleNode::Split>(&node.node)) {
      for (auto& [value, child] : split->table) name_leaves(child);
      name_leaves(*split->otherwise);
      return;
    }
    auto& leaf = leaves_[std::stoul(std::get<std::string>(node.node))];
    std::string name = leaf.path_name;
    if (leaf.previous_name && !path_names_.contains(*leaf.previous_name) &&
        !result_.sizes.contains(*leaf.previous_name))
      name = *leaf.previous_name;
    if (result_.sizes.contains(name)) {  // not expected: path names are unique
      std::size_t suffix = 2;
      while (result_.sizes.contains(name + "~" + std::to_string(suffix))) ++suffix;
      name += "~" + std::to_string(suffix);
    }
    result_.sizes[name] = leaf.end - leaf.begin;
    assign_owner(name, leaf.begin, leaf.end);
    node.node = std::move(name);
  }

  // The previous group this leaf's samples (nearly) coincide with: each
  // holds at least 1 - rename_tolerance of the other's samples (more than
  // half, so at most one leaf can claim a previous group).
  std::optional<std::string> previous_name(std::size_t begin, std::size_t end) {
    if (previous_groups_.group_of_row.empty() || end == begin) return std::nullopt;
    std::fill(overlap_.begin(), overlap_.end(), 0);
    for (std::size_t i = begin; i < end; ++i) ++overlap_[previous_groups_.group_of_row[order_[i]]];
    const auto best = static_cast<std::size_t>(std::max_element(overlap_.begin(), overlap_.end()) -
                                               overlap_.begin());
    const double keep = 1 - options_.rename_tolerance;
    const auto overlap = static_cast<double>(overlap_[best]);
    if (overlap >= keep * static_cast<double>(end - begin) &&
        overlap >= keep * static_cast<double>(previous_groups_.rows[best]))
      return previous_groups_.names[best];
    return std::nullopt;
  }

  // Owner: the cluster with most of the group's samples (ties: the smallest
  // name), unless the previous owner is still within owner_switch_margin.
  void assign_owner(const std::string& group, std::size_t begin, std::size_t end) {
    std::fill(cluster_counts_.begin(), cluster_counts_.end(), 0);
    std::size_t named = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const auto cluster = columns_.cluster[order_[i]];
      if (cluster == 0) continue;
      ++cluster_counts_[cluster];
      ++named;
    }
    const std::string* previous_owner = nullptr;
    if (previous_) {
      if (auto it = previous_->owner.find(group); it != previous_->owner.end())
        previous_owner = &it->second;
    }
    if (named == 0) {
      if (previous_owner) result_.owner[group] = *previous_owner;
      return;
    }
    std::size_t best = 0;
    for (std::size_t k = 1; k < cluster_counts_.size(); ++k) {
      if (cluster_counts_[k] == 0) continue;
      if (best == 0 || cluster_counts_[k] > cluster_counts_[best] ||
          (cluster_counts_[k] == cluster_counts_[best] &&
           columns_.cluster_names[k] < columns_.cluster_names[best]))
        best = k;
    }
    std::string owner(columns_.cluster_names[best]);
    if (previous_owner && *previous_owner != owner) {
      std::size_t previous_count = 0;
      for (std::size_t k = 1; k < cluster_counts_.size(); ++k)
        if (columns_.cluster_names[k] == *previous_owner) previous_count = cluster_counts_[k];
      const double lead =
          static_cast<double>(cluster_counts_[best] - previous_count) / static_cast<double>(named);
      if (lead <= options_.owner_switch_margin) owner = *previous_owner;
    }
    result_.owner[group] = std::move(owner);
  }

  const FeatureSchema& schema_;
  const GroupingLearnerOptions& options_;
  const std::vector<std::size_t>& candidates_;
  const Columns& columns_;
  const LearnedGrouping* previous_;
  PreviousGroups previous_groups_;
  struct Leaf {
    std::size_t begin = 0, end = 0;  // its rows: order_[begin, end)
    std::string path_name;
    std::optional<std::string> previous_name;
  };
  std::vector<Leaf> leaves_;
  std::set<std::string> path_names_;
  std::vector<std::size_t> overlap_;  // by previous group: samples in the current leaf
  LearnedGrouping result_;
  std::vector<bool> used_;  // by candidate: split on above
  std::vector<bool> split_on_ = std::vector<bool>(candidates_.size(), false);
  std::vector<std::uint32_t> order_, buffer_;              // row indices, grouped by node
  std::vector<std::pair<std::size_t, std::string>> path_;  // (schema index, "F=v")
  // Scratch of evaluate(): per candidate code -> slot, the slots' cells.
  std::vector<std::vector<std::uint32_t>> slot_of_, branch_of_;
  std::vector<std::uint32_t> touched_;  // codes of touched_candidate_ with a slot
  std::size_t touched_candidate_ = 0;
  std::vector<Cell> cells_;
  std::vector<std::size_t> counts_;
  std::vector<std::size_t> cluster_counts_;
};

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

void GroupingLearnerOptions::validate() const {
  if (min_group_size < 1) throw InvalidInput("grouping learner: min_group_size must be >= 1");
  if (max_depth > kMaxDepthLimit)
    throw InvalidInput("grouping learner: max_depth must be <= " + std::to_string(kMaxDepthLimit));
  if (!std::isfinite(significance_z))
    throw InvalidInput("grouping learner: significance_z must be finite");
  auto check_share = [](double value, const char* name) {
    if (!(value >= 0 && value <= 1))
      throw InvalidInput(std::string("grouping learner: ") + name + " must be in [0, 1]");
  };
  check_share(min_relative_gain, "min_relative_gain");
  check_share(sticky_split_margin, "sticky_split_margin");
  check_share(owner_switch_margin, "owner_switch_margin");
  if (!(rename_tolerance >= 0 && rename_tolerance < 0.5))
    throw InvalidInput("grouping learner: rename_tolerance must be in [0, 0.5)");
  if (!(new_branch_margin >= 0 && std::isfinite(new_branch_margin)))
    throw InvalidInput("grouping learner: new_branch_margin must be a finite number >= 0");
}

std::vector<std::string> default_candidate_features(const FeatureSchema& schema) {
  static const std::set<std::string> per_session = {"Time", "BufRate", "AvgBitrate", "JoinTime"};
  std::vector<std::string> names;
  for (const auto& name : schema.names())
    if (!per_session.contains(name)) names.push_back(name);
  return names;
}

GroupingLearner::GroupingLearner(FeatureSchema schema, GroupingLearnerOptions options)
    : schema_(std::move(schema)), options_(std::move(options)) {
  options_.validate();
  if (options_.candidate_features.empty())
    options_.candidate_features = default_candidate_features(schema_);
  std::set<std::size_t> indices;
  for (const auto& name : options_.candidate_features) {
    auto index = schema_.index_of(name);
    if (!index) throw InvalidInput("grouping learner: unknown candidate feature '" + name + "'");
    indices.insert(*index);
  }
  candidates_.assign(indices.begin(), indices.end());
}

LearnedGrouping GroupingLearner::learn(std::span<const GroupingSample> samples,
                                       const LearnedGrouping* previous) const {
  Columns columns;
  columns.rows = samples.size();
  const std::size_t n_candidates = candidates_.size();
  columns.codes.assign(n_candidates, std::vector<std::uint32_t>(samples.size()));
  columns.values.resize(n_candidates);
  columns.decision.resize(samples.size());
  columns.cluster.resize(samples.size());
  columns.score.resize(samples.size());
  std::vector<Interner> feature_ids;
  feature_ids.reserve(n_candidates);
  for (auto& values : columns.values) feature_ids.emplace_back(values);
  std::vector<std::string_view> decision_names;
  Interner decision_ids(decision_names);
  Interner cluster_ids(columns.cluster_names);
  cluster_ids("");  // code 0: no cluster

  double score_sum = 0;
  for (std::size_t row = 0; row < samples.size(); ++row) {
    const auto& sample = samples[row];
    if (sample.features.size() != schema_.size())
      throw InvalidInput("grouping learner: sample " + std::to_string(row) + " has " +
                         std::to_string(sample.features.size()) +
                         " feature values, the schema has " + std::to_string(schema_.size()));
    if (!std::isfinite(sample.score))
      throw InvalidInput("grouping learner: sample " + std::to_string(row) +
                         " has a NaN or infinite score");
    for (std::size_t c = 0; c < n_candidates; ++c)
      columns.codes[c][row] = feature_ids[c](sample.features[candidates_[c]]);
    columns.decision[row] = decision_ids(sample.decision);
    columns.cluster[row] = cluster_ids(sample.cluster);
    columns.score[row] = sample.score;
    score_sum += sample.score;
  }
  columns.decisions = decision_names.size();
  // Centring keeps sum_sq - sum^2/n accurate for scores far from zero.
  if (!samples.empty()) {
    const double mean = score_sum / static_cast<double>(samples.size());
    for (auto& score : columns.score) score -= mean;
  }
  PreviousGroups previous_groups;
  if (previous && previous->rules)
    previous_groups =
        PreviousMapper(schema_, candidates_, columns, feature_ids).map(*previous->rules);
  TreeBuilder builder(schema_, options_, candidates_, columns, previous,
                      std::move(previous_groups));
  return builder.build();
}

std::string format_rules(const RuleNode& root) {
  if (const auto* group = std::get_if<std::string>(&root.node)) return *group + "\n";
  std::string out;
  format_node(root, 0, out);
  return out;
}

}  // namespace pytheas
