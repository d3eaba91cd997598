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

// Per pair (group before, group after) of the window's samples: how many
// samples, and their scores' statistics per decision. What both the
// parent/heir maps and the merge check below read, from one pass over the
// samples.
struct PairStats {
  std::size_t samples = 0;
  std::vector<learner::Cell> cells;  // by decision id
};
struct PairCells {
  KeyIds before, after, decisions;
  std::unordered_map<std::uint64_t, PairStats> pairs;  // (before id << 32 | after id)
};

PairCells pair_cells(const Grouping& before, const Grouping& after,
                     std::span<const GroupingSample> samples, std::size_t schema_size) {
  PairCells out;
  std::vector<std::string_view> values;
  for (const auto& sample : samples) {
    if (sample.features.size() != schema_size) continue;
    values.assign(sample.features.begin(), sample.features.end());
    const FeatureView view(values);
    const std::uint64_t b = out.before(before.key(view));
    const std::uint64_t a = out.after(after.key(view));
    const std::size_t d = out.decisions(sample.decision);
    auto& pair = out.pairs[(b << 32) | a];
    ++pair.samples;
    if (pair.cells.size() <= d) pair.cells.resize(d + 1);
    pair.cells[d].add(sample.score);
  }
  return out;
}

// For each `from` id, the `to` id sharing most samples with it (ties: the
// smallest `to` name).
std::map<std::string, std::string> majority(const PairCells& pairs, bool from_is_after) {
  const KeyIds& from = from_is_after ? pairs.after : pairs.before;
  const KeyIds& to = from_is_after ? pairs.before : pairs.after;
  std::vector<std::pair<std::size_t, std::uint32_t>> best(from.size(), {0, 0});
  for (const auto& [key, pair] : pairs.pairs) {
    const auto b = static_cast<std::uint32_t>(key >> 32);
    const auto a = static_cast<std::uint32_t>(key & 0xFFFFFFFFu);
    const auto f = from_is_after ? a : b;
    const auto t = from_is_after ? b : a;
    auto& [most, id] = best[f];
    if (pair.samples > most || (pair.samples == most && to.name(t) < to.name(id))) {
      most = pair.samples;
      id = t;
    }
  }
  std::map<std::string, std::string> out;
  for (std::uint32_t f = 0; f < from.size(); ++f)
    if (best[f].first > 0) out.emplace(from.name(f), to.name(best[f].second));
  return out;
}

GroupTransition transition_of(const PairCells& pairs) {
  return {majority(pairs, true), majority(pairs, false)};
}

// The family-wise chance that noise alone keeps groups that all want the
// same decision apart (see Regrouper::regroup).
constexpr double kKeepGroupsFalseRate = 0.01;

// A group in force lies within a new group when that new group holds at
// least this share of its samples: the new group absorbs it whole.
constexpr double kWholeShare = 0.9;

// Whether the new grouping only merges groups in force, and merges some of
// which one demonstrably wants another decision than the merged group will
// use. "Only merges": every group in force with at least `min_group` samples
// lies whole (kWholeShare) within one new group; a learn that splits one of
// them, or cuts across them (groups by ConnType regrouped by Asn), brings a
// structure the learner found and is never refused, whatever it merges. Then
// some new group absorbs two or more such groups whole, and in one of them a
// decision beats the new group's pooled best decision by a one-sided Welch
// test, both cells holding at least `min_cell` samples, Bonferroni-corrected
// over every such comparison at kKeepGroupsFalseRate. Noise alone (scores no
// feature explains) passes it with at most that chance. Groups under
// `min_group` samples are the learner's to merge (it backs rare values off
// to a coarser group by design), so they are not tested.
bool only_merges_and_loses_a_distinction(const PairCells& pairs, std::size_t min_group,
                                         std::size_t min_cell) {
  using learner::Cell;
  std::vector<double> before_samples(pairs.before.size(), 0), largest_part(pairs.before.size(), 0);
  for (const auto& [key, pair] : pairs.pairs) {
    const auto n = static_cast<double>(pair.samples);
    before_samples[key >> 32] += n;
    largest_part[key >> 32] = std::max(largest_part[key >> 32], n);
  }
  const auto sizable = [&](std::size_t b) {
    return before_samples[b] >= static_cast<double>(min_group);
  };
  for (std::size_t b = 0; b < before_samples.size(); ++b)
    if (sizable(b) && largest_part[b] < kWholeShare * before_samples[b]) return false;
  const auto absorbed = [&](std::uint64_t key, const PairStats& pair) {
    const auto b = static_cast<std::size_t>(key >> 32);
    return sizable(b) && static_cast<double>(pair.samples) >= kWholeShare * before_samples[b];
  };
  // Per new group: its pooled cells and how many groups in force it absorbs.
  struct Merged {
    std::vector<Cell> pooled;
    std::size_t absorbed = 0;
  };
  std::vector<Merged> merged(pairs.after.size());
  for (const auto& [key, pair] : pairs.pairs) {
    auto& into = merged[key & 0xFFFFFFFFu];
    if (into.pooled.size() < pair.cells.size()) into.pooled.resize(pair.cells.size());
    for (std::size_t d = 0; d < pair.cells.size(); ++d) into.pooled[d].add(pair.cells[d]);
    if (absorbed(key, pair)) ++into.absorbed;
  }
  const auto enough = [&](const Cell& cell) {
    return cell.n >= static_cast<double>(min_cell) && cell.n >= 2;
  };
  std::vector<std::optional<std::size_t>> best(merged.size());
  for (std::size_t a = 0; a < merged.size(); ++a) {
    if (merged[a].absorbed < 2) continue;
    const auto& pooled = merged[a].pooled;
    for (std::size_t d = 0; d < pooled.size(); ++d)
      if (enough(pooled[d]) && (!best[a] || pooled[d].mean() > pooled[*best[a]].mean()))
        best[a] = d;
  }
  std::vector<learner::Comparison> comparisons;
  for (const auto& [key, pair] : pairs.pairs) {
    const auto& cells = pair.cells;
    const auto& incumbent_decision = best[key & 0xFFFFFFFFu];
    if (!absorbed(key, pair) || !incumbent_decision || *incumbent_decision >= cells.size())
      continue;
    const auto& incumbent = cells[*incumbent_decision];
    if (!enough(incumbent)) continue;
    for (std::size_t d = 0; d < cells.size(); ++d)
      if (d != *incumbent_decision && enough(cells[d]))
        comparisons.push_back(learner::welch(cells[d], incumbent));
  }
  if (comparisons.empty()) return false;
  const double z_needed = learner::normal_upper_quantile(kKeepGroupsFalseRate /
                                                         static_cast<double>(comparisons.size()));
  for (const auto& comparison : comparisons)
    if (comparison.advantage > 0 && learner::t_to_z(comparison.t, comparison.df) >= z_needed)
      return true;
  return false;
}

}  // namespace

void RegrouperOptions::validate() const {
  learner.validate();
  if (window < 1) throw InvalidInput("regrouper: window must be >= 1");
  if (min_samples < 1) throw InvalidInput("regrouper: min_samples must be >= 1");
}

GroupTransition group_transition(const Grouping& before, const Grouping& after,
                                 std::span<const GroupingSample> samples, std::size_t schema_size) {
  return transition_of(pair_cells(before, after, samples, schema_size));
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
  const bool changed = !learned_ || !same_rules(*learned.rules, *learned_->rules);
  if (!changed) {
    learned_ = std::move(learned);
    last_learn_seconds_ = thread_cpu_seconds() - start;
    return std::nullopt;
  }
  auto grouping = make_rule_tree_grouping(learner_.schema(), learned.rules);
  const auto pairs = pair_cells(*current_, *grouping, window_.samples(), learner_.schema().size());
  // A learn that only merges groups found no evidence that they differ.
  // That is not evidence that they agree: groups that exploit their own best
  // decisions leave few samples of the others in each, so the learner,
  // testing every feature and value at once, often cannot prove what a
  // single comparison per group can; and the merged group then exploits one
  // decision for all of them and gathers even less. Seen: an outage made a
  // run global for good; a 5-minute trace merged its 30 City groups into 14
  // at 120 s and paid for it until 270 s. So the groups in force stay, and so
  // does the last learn, when such a merge would lose a distinction a group
  // demonstrably has; groups that agree, or that noise cannot tell apart,
  // merge. A learn that also splits is taken whole: refusing it would let
  // one small distinction the learner cannot prove block every split it
  // can, for as long as the data stay so.
  if (only_merges_and_loses_a_distinction(pairs, options_.learner.min_group_size,
                                          options_.learner.min_cell_samples)) {
    ++kept_on_merge_;
    last_learn_seconds_ = thread_cpu_seconds() - start;
    return std::nullopt;
  }
  learned_ = std::move(learned);
  Regroup out;
  out.grouping = std::move(grouping);
  auto transition = transition_of(pairs);
  out.parent = std::move(transition.parent);
  out.heir = std::move(transition.heir);
  out.learned = *learned_;
  current_ = out.grouping;
  last_learn_seconds_ = out.learn_seconds = thread_cpu_seconds() - start;
  return out;
}

}  // namespace pytheas
