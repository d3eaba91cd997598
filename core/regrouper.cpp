#include "core/regrouper.hpp"

#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/errors.hpp"
#include "core/grouping_learner_significance.hpp"
#include "core/thread_cpu.hpp"

namespace pytheas {
namespace {

// Interns keys to dense ids.
class KeyIds {
 public:
  std::uint32_t operator()(std::string key) {
    auto [it, inserted] = ids_.try_emplace(std::move(key), static_cast<std::uint32_t>(ids_.size()));
    if (inserted) names_.push_back(&it->first);
    return it->second;
  }
  const std::string& name(std::uint32_t id) const { return *names_[id]; }
  std::size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<const std::string*> names_;  // node addresses are stable
};

// For each `from` id, the `to` id sharing most samples with it (ties: the
// smallest `to` name).
std::map<std::string, std::string> majority(
    const std::unordered_map<std::uint64_t, std::size_t>& counts, bool from_is_after,
    const KeyIds& before, const KeyIds& after) {
  const KeyIds& from = from_is_after ? after : before;
  const KeyIds& to = from_is_after ? before : after;
  std::vector<std::pair<std::size_t, std::uint32_t>> best(from.size(), {0, 0});
  for (const auto& [pair, count] : counts) {
    const auto b = static_cast<std::uint32_t>(pair >> 32);
    const auto a = static_cast<std::uint32_t>(pair & 0xFFFFFFFFu);
    const auto f = from_is_after ? a : b;
    const auto t = from_is_after ? b : a;
    auto& [most, id] = best[f];
    if (count > most || (count == most && to.name(t) < to.name(id))) {
      most = count;
      id = t;
    }
  }
  std::map<std::string, std::string> out;
  for (std::uint32_t f = 0; f < from.size(); ++f)
    if (best[f].first > 0) out.emplace(from.name(f), to.name(best[f].second));
  return out;
}

}  // namespace

void RegrouperOptions::validate() const {
  learner.validate();
  if (window < 1) throw InvalidInput("regrouper: window must be >= 1");
  if (min_samples < 1) throw InvalidInput("regrouper: min_samples must be >= 1");
}

GroupTransition group_transition(const Grouping& before, const Grouping& after,
                                 std::span<const GroupingSample> samples, std::size_t schema_size) {
  KeyIds before_ids, after_ids;
  std::unordered_map<std::uint64_t, std::size_t> counts;
  std::vector<std::string_view> values;
  for (const auto& sample : samples) {
    if (sample.features.size() != schema_size) continue;
    values.assign(sample.features.begin(), sample.features.end());
    const FeatureView view(values);
    const std::uint64_t b = before_ids(before.key(view));
    const std::uint64_t a = after_ids(after.key(view));
    ++counts[(b << 32) | a];
  }
  GroupTransition out;
  out.parent = majority(counts, true, before_ids, after_ids);
  out.heir = majority(counts, false, before_ids, after_ids);
  return out;
}

// The family-wise chance that noise alone keeps groups that all want the
// same decision apart (see Regrouper::regroup).
constexpr double kKeepGroupsFalseRate = 0.01;

// Whether some group `grouping` makes of the samples demonstrably wants
// another decision than all of them together would use: in that group, a
// decision beats the pooled best decision by a one-sided Welch test, both
// cells holding at least `min_cell` samples, Bonferroni-corrected over every
// such comparison at kKeepGroupsFalseRate. Noise alone (scores no feature
// explains) passes it with at most that chance.
bool a_group_wants_another_decision(const Grouping& grouping,
                                    std::span<const GroupingSample> samples,
                                    std::size_t schema_size, std::size_t min_cell) {
  using learner::Cell;
  std::unordered_map<std::string, std::unordered_map<std::string_view, Cell>> groups;
  std::unordered_map<std::string_view, Cell> pooled;
  std::vector<std::string_view> values;
  for (const auto& sample : samples) {
    if (sample.features.size() != schema_size) continue;
    values.assign(sample.features.begin(), sample.features.end());
    groups[grouping.key(FeatureView(values))][sample.decision].add(sample.score);
    pooled[sample.decision].add(sample.score);
  }
  if (groups.size() < 2) return false;
  const auto enough = [&](const Cell& cell) { return cell.n >= static_cast<double>(min_cell); };
  std::optional<std::string_view> best;
  for (const auto& [decision, cell] : pooled)
    if (enough(cell) && (!best || cell.mean() > pooled.at(*best).mean())) best = decision;
  if (!best) return false;
  std::vector<learner::Comparison> comparisons;
  for (const auto& [key, cells] : groups) {
    const auto incumbent = cells.find(*best);
    if (incumbent == cells.end() || !enough(incumbent->second) || incumbent->second.n < 2) continue;
    for (const auto& [decision, cell] : cells)
      if (decision != *best && enough(cell) && cell.n >= 2)
        comparisons.push_back(learner::welch(cell, incumbent->second));
  }
  if (comparisons.empty()) return false;
  const double z_needed = learner::normal_upper_quantile(kKeepGroupsFalseRate /
                                                         static_cast<double>(comparisons.size()));
  for (const auto& comparison : comparisons)
    if (comparison.advantage > 0 && learner::t_to_z(comparison.t, comparison.df) >= z_needed)
      return true;
  return false;
}

bool same_rules(const RuleNode& a, const RuleNode& b) {
  const auto* leaf_a = std::get_if<std::string>(&a.node);
  const auto* leaf_b = std::get_if<std::string>(&b.node);
  if (leaf_a || leaf_b) return leaf_a && leaf_b && *leaf_a == *leaf_b;
  const auto& split_a = std::get<RuleNode::Split>(a.node);
  const auto& split_b = std::get<RuleNode::Split>(b.node);
  if (split_a.feature != split_b.feature || split_a.table.size() != split_b.table.size())
    return false;
  if (!split_a.otherwise || !split_b.otherwise) return !split_a.otherwise && !split_b.otherwise;
  for (auto ia = split_a.table.begin(), ib = split_b.table.begin(); ia != split_a.table.end();
       ++ia, ++ib)
    if (ia->first != ib->first || !same_rules(ia->second, ib->second)) return false;
  return same_rules(*split_a.otherwise, *split_b.otherwise);
}

Regrouper::Regrouper(FeatureSchema schema, RegrouperOptions options,
                     std::shared_ptr<const Grouping> initial)
    : options_((options.validate(), std::move(options))),
      learner_(std::move(schema), options_.learner),
      window_(options_.window),
      initial_(std::move(initial)),
      current_(initial_) {
  if (!initial_) throw InvalidInput("regrouper: no initial grouping");
}

void Regrouper::add(GroupingSample sample) {
  if (sample.features.size() != learner_.schema().size() || !std::isfinite(sample.score)) {
    ++rejected_;
    return;
  }
  window_.add(std::move(sample));
}

std::optional<Regroup> Regrouper::regroup() {
  if (window_.size() < options_.min_samples) return std::nullopt;
  const double start = thread_cpu_seconds();
  // The first learn names its groups after the initial grouping's keys where
  // the members agree; later ones keep the previous result's names.
  auto learned = learner_.learn(window_.samples(), learned_ ? &*learned_ : nullptr,
                                learned_ ? nullptr : initial_.get());
  // A learn that finds no split at all says one global group. That is
  // absence of evidence for a split, which the groups in force may well
  // have: groups that exploit their own best decisions leave few samples of
  // the others in each, so the learner, testing every feature and value at
  // once, often cannot prove they differ; one global group would then exploit
  // one decision for everyone and gather even less (the adaptivity sweep: a
  // third of its runs went global at the first learn and stayed global to
  // the end; an outage made another one global for good). So the groups in
  // force stay when one of them demonstrably wants another decision than the
  // pooled best (a_group_wants_another_decision); groups that agree, or that
  // noise cannot tell apart, merge, and a learn with any split replaces them.
  if (std::holds_alternative<std::string>(learned.rules->node) &&
      a_group_wants_another_decision(*current_, window_.samples(), learner_.schema().size(),
                                     options_.learner.min_cell_samples)) {
    ++kept_on_no_split_;
    last_learn_seconds_ = thread_cpu_seconds() - start;
    return std::nullopt;
  }
  const bool changed = !learned_ || !same_rules(*learned.rules, *learned_->rules);
  learned_ = std::move(learned);
  if (!changed) {
    last_learn_seconds_ = thread_cpu_seconds() - start;
    return std::nullopt;
  }
  Regroup out;
  out.grouping = make_rule_tree_grouping(learner_.schema(), learned_->rules);
  auto transition =
      group_transition(*current_, *out.grouping, window_.samples(), learner_.schema().size());
  out.parent = std::move(transition.parent);
  out.heir = std::move(transition.heir);
  out.learned = *learned_;
  current_ = out.grouping;
  last_learn_seconds_ = out.learn_seconds = thread_cpu_seconds() - start;
  return out;
}

}  // namespace pytheas
