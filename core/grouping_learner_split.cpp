#include "core/grouping_learner_split.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "core/grouping_learner_significance.hpp"

namespace pytheas::learner {
namespace {

// A candidate split of one node, before and after the significance test.
struct SplitPlan {
  std::size_t candidate = 0;
  std::vector<std::uint32_t> branches;  // value codes with their own branch
  std::size_t branch_count = 0;         // branches with samples, the default one included
  std::size_t tests = 0;                // comparisons tried (for the Bonferroni correction)
  // Per branch with samples: its rows and its promising comparisons.
  std::vector<std::pair<std::size_t, std::vector<Comparison>>> evidence;
  double gain = 0;  // regret removed: sum over passing branches of rows x advantage
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
    // The effect-size unit: the within-decision standard deviation of all the
    // samples, the same at every depth.
    std::vector<Cell> cells(columns.decisions);
    for (std::size_t r = 0; r < columns.rows; ++r) cells[columns.decision[r]].add(columns.score[r]);
    double sse = 0, n = 0;
    for (const auto& cell : cells) {
      sse += cell.sse();
      n += cell.n;
    }
    const double dof = n - static_cast<double>(cells.size());
    min_advantage_ = dof > 0 ? options.min_effect * std::sqrt(sse / dof) : 0;
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
    // The node's best decision: the highest mean among decisions with enough
    // samples to compare.
    std::vector<Cell> node_cells(columns_.decisions);
    for (std::size_t i = begin; i < end; ++i) {
      const auto row = order_[i];
      node_cells[columns_.decision[row]].add(columns_.score[row]);
    }
    const auto min_cell = static_cast<double>(options_.min_cell_samples);
    std::uint32_t best_decision = kNone;
    for (std::uint32_t d = 0; d < node_cells.size(); ++d)
      if (node_cells[d].n >= min_cell &&
          (best_decision == kNone || node_cells[d].mean() > node_cells[best_decision].mean()))
        best_decision = d;
    if (best_decision == kNone) return leaf(begin, end);

    const auto* previous_split = previous ? std::get_if<RuleNode::Split>(&previous->node) : nullptr;
    std::vector<SplitPlan> plans;
    std::size_t tests = 0;
    std::optional<std::size_t> sticky_candidate;
    for (std::size_t c = 0; c < candidates_.size(); ++c) {
      if (used_[c]) continue;
      const bool was_split_here =
          previous_split && previous_split->feature == schema_.name(candidates_[c]);
      auto plan = evaluate(c, begin, end, best_decision, was_split_here ? previous_split : nullptr);
      if (!plan) continue;
      if (was_split_here) sticky_candidate = c;
      tests += plan->tests;
      plans.push_back(std::move(*plan));
    }
    if (tests == 0) return leaf(begin, end);

    // Bonferroni over every comparison tried here: the chance that any
    // irrelevant feature splits this node is at most false_split_rate.
    const double z_needed =
        normal_upper_quantile(options_.false_split_rate / static_cast<double>(tests));
    const SplitPlan* best = nullptr;
    for (auto& plan : plans) {
      for (const auto& [branch_rows, comparisons] : plan.evidence) {
        double advantage = 0;
        for (const auto& comparison : comparisons)
          if (t_to_z(comparison.t, comparison.df) >= z_needed)
            advantage = std::max(advantage, comparison.advantage);
        plan.gain += static_cast<double>(branch_rows) * advantage;
      }
      if (plan.gain > 0 && (!best || plan.gain > best->gain)) best = &plan;
    }
    if (!best) return leaf(begin, end);
    // Stability first (the previous split feature, if nearly as good), then
    // the coarsest split that is nearly as good.
    const double best_gain = best->gain;
    const SplitPlan* chosen = best;
    for (const auto& plan : plans) {
      if (plan.gain <= 0) continue;
      if (plan.gain >= (1 - options_.coarser_split_margin) * best_gain &&
          (plan.branch_count < chosen->branch_count ||
           (plan.branch_count == chosen->branch_count && plan.gain > chosen->gain)))
        chosen = &plan;
    }
    for (const auto& plan : plans)
      if (sticky_candidate && plan.candidate == *sticky_candidate && plan.gain > 0 &&
          plan.gain >= (1 - options_.sticky_split_margin) * best_gain)
        chosen = &plan;
    return split(*chosen, begin, end, depth, previous_split);
  }

  // The branches of a split on candidate `c` and the comparisons that test
  // it: in each branch, each decision against the node's best decision.
  std::optional<SplitPlan> evaluate(std::size_t c, std::size_t begin, std::size_t end,
                                    std::uint32_t best_decision,
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

    SplitPlan plan;
    plan.candidate = c;
    plan.branch_count = slots.size() + (default_rows > 0 ? 1 : 0);
    auto compare = [&](const Cell* branch_cells, std::size_t branch_rows) {
      std::vector<Comparison> comparisons;
      const auto min_cell = static_cast<double>(options_.min_cell_samples);
      const Cell& incumbent = branch_cells[best_decision];
      if (incumbent.n < min_cell) return;  // the node's best was hardly tried here
      for (std::size_t d = 0; d < decisions; ++d) {
        const Cell& challenger = branch_cells[d];
        if (d == best_decision || challenger.n < min_cell) continue;
        ++plan.tests;
        const double advantage = challenger.mean() - incumbent.mean();
        if (!(advantage > 0) || advantage < min_advantage_) continue;
        comparisons.push_back(welch(challenger, incumbent));
      }
      if (!comparisons.empty()) plan.evidence.emplace_back(branch_rows, std::move(comparisons));
    };
    std::vector<char> explicit_slot(touched_.size(), 0);
    for (auto s : slots) {
      explicit_slot[s] = 1;
      compare(&cells_[s * decisions], counts_[s]);
    }
    if (default_rows > 0) {
      std::vector<Cell> rest(decisions);
      for (std::uint32_t s = 0; s < touched_.size(); ++s)
        if (!explicit_slot[s])
          for (std::size_t d = 0; d < decisions; ++d) rest[d].add(cells_[s * decisions + d]);
      compare(rest.data(), default_rows);
    }
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
  double min_advantage_ = 0;  // min_effect in score units
};

}  // namespace

LearnedGrouping grow_rules(const FeatureSchema& schema, const GroupingLearnerOptions& options,
                           const std::vector<std::size_t>& candidates, const Columns& columns,
                           const LearnedGrouping* previous, PreviousGroups previous_groups) {
  TreeBuilder builder(schema, options, candidates, columns, previous, std::move(previous_groups));
  return builder.build();
}

}  // namespace pytheas::learner
