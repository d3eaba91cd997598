#include "simulation/trace_loader.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/errors.hpp"

namespace pytheas::sim {

GroupingSpec GroupingSpec::parse(std::string_view text) {
  GroupingSpec spec;
  spec.text = std::string(text);
  if (text.empty()) throw InvalidInput("grouping: empty grouping");
  if (text == "learned") {
    spec.learned = true;
    return spec;
  }
  if (text == "global") return spec;
  if (text == "rules") {
    spec.rules = true;
    return spec;
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find_first_of(",+", start);
    if (end == std::string_view::npos) end = text.size();
    auto name = text.substr(start, end - start);
    if (name.empty()) throw InvalidInput("grouping: empty feature name in '" + spec.text + "'");
    spec.features.emplace_back(name);
    start = end + 1;
  }
  return spec;
}

namespace {
void collect_rule_features(const RuleNode& node, std::vector<std::string>& out) {
  const auto* split = std::get_if<RuleNode::Split>(&node.node);
  if (!split) return;
  if (std::find(out.begin(), out.end(), split->feature) == out.end()) out.push_back(split->feature);
  for (const auto& [value, child] : split->table) collect_rule_features(child, out);
  if (split->otherwise) collect_rule_features(*split->otherwise, out);
}
}  // namespace

std::vector<std::string> rule_features(const RuleNode& root) {
  std::vector<std::string> out;
  collect_rule_features(root, out);
  return out;
}

void LearnedGroupingConfig::validate() const {
  regrouper.validate();
  if (!(warmup_s >= 0) || !std::isfinite(warmup_s))
    throw InvalidInput("learned grouping: warm-up must be a finite number >= 0");
  if (!(regroup_interval_s > 0) || !std::isfinite(regroup_interval_s))
    throw InvalidInput("learned grouping: regroup interval must be a positive number");
  if (!(sample_rate > 0 && sample_rate <= 1))
    throw InvalidInput("learned grouping: sample rate must be in (0, 1]");
}

TraceLoader::TraceLoader(TraceSource& source, FeatureSchema schema,
                         const std::vector<GroupingSpec>& groupings,
                         const LearnedGroupingConfig& learned, std::uint64_t seed,
                         std::shared_ptr<const RuleNode> rules)
    : source_(source), schema_(std::move(schema)) {
  for (const auto& spec : groupings) {
    groupings_.emplace_back();
    std::shared_ptr<const Grouping> grouping;
    std::vector<std::string> features = spec.features;
    if (spec.rules) {
      if (!rules) throw InvalidInput("grouping 'rules' needs a rule tree (a label config's rules)");
      grouping = make_rule_tree_grouping(schema_, rules);
      features = rule_features(*rules);
    } else {
      // A learned grouping starts as its start_by features (none: global).
      if (spec.learned) features = learned.start_by;
      grouping = make_feature_grouping(schema_, features);
    }
    use_grouping(groupings_.back(), grouping, features);
    if (spec.learned && !learning_) {
      learned.validate();
      Regrouper regrouper(schema_, learned.regrouper, grouping);
      auto candidates = regrouper.options().learner.candidate_features;
      if (candidates.empty()) candidates = default_candidate_features(schema_);
      std::vector<std::size_t> sampled;
      for (const auto& name : candidates) sampled.push_back(*schema_.index_of(name));
      learning_ = std::make_unique<Learning>(
          Learning{learned, std::move(regrouper), std::move(sampled), groupings_.size() - 1,
                   learned.warmup_s, Rng(seed ^ 0x6C6561726E6564ull)});
    }
  }
  loads_.emplace_back();  // id 0: no LoadMap entry, factor 1
  feature_views_.resize(schema_.size());
}

std::optional<std::size_t> TraceLoader::learned_grouping() const {
  if (!learning_) return std::nullopt;
  return learning_->slot;
}

bool TraceLoader::samples_from_lane() const {
  return learning_ && learning_->config.samples == LearnedSamples::kLane;
}

std::uint32_t TraceLoader::group_id(GroupingSlot& slot, const std::string& key) {
  auto it = slot.by_key.find(key);
  if (it != slot.by_key.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(slot.keys.size());
  slot.keys.push_back(key);
  slot.by_key.emplace(key, id);
  return id;
}

void TraceLoader::use_grouping(GroupingSlot& slot, std::shared_ptr<const Grouping> grouping,
                               const std::vector<std::string>& features) {
  slot.grouping = std::move(grouping);
  slot.feature_indices.clear();
  for (const auto& name : features) {
    auto index = schema_.index_of(name);
    if (!index) throw InvalidInput("grouping: unknown feature '" + name + "'");
    slot.feature_indices.push_back(*index);
  }
  // The value cache belongs to the old grouping; ids by key stay, so a group
  // that keeps its name keeps its id.
  slot.by_values.clear();
}

void TraceLoader::sample(const TraceSession& session, MinuteBatch& batch) {
  auto& learning = *learning_;
  const bool from_lane = learning.config.samples == LearnedSamples::kLane;
  if (from_lane) batch.sample_features.emplace_back();
  if (session.decisions.empty()) return;
  if (learning.config.sample_rate < 1 && !(learning.rng.uniform() < learning.config.sample_rate))
    return;
  // Only the features the learner may split on: the others stay empty.
  std::vector<std::string> features(schema_.size());
  for (auto index : learning.sampled_features) features[index] = session.features[index];
  if (from_lane) {
    batch.sample_features.back() = std::move(features);
    return;
  }
  const auto& tried = session.decisions[learning.rng.below(session.decisions.size())];
  learning.regrouper.add({std::move(features), tried.decision, -tried.cost.value, ""});
}

void TraceLoader::add_lane_sample(MinuteBatch& batch, std::size_t session, std::uint32_t decision,
                                  double score) {
  if (!learning_ || session >= batch.sample_features.size()) return;
  auto& features = batch.sample_features[session];
  if (features.empty()) return;  // not sampled
  learning_->regrouper.add({std::move(features), decision_names_[decision], score, ""});
  features.clear();
}

void TraceLoader::regroup(double time_s, MinuteBatch& batch) {
  auto& learning = *learning_;
  auto& regrouper = learning.regrouper;
  auto outcome = regrouper.regroup();
  const auto* learned = regrouper.learned();
  if (!learned) return;  // fewer than min_samples: nothing learned
  RegroupRecord record;
  record.time_s = time_s;
  record.samples = regrouper.samples();
  for (const auto& [name, size] : learned->sizes) record.groups += size > 0;
  record.split_features = learned->split_features;
  record.seconds = regrouper.last_learn_seconds();
  record.rules = format_rules(*learned->rules);
  record.changed = outcome.has_value();
  if (outcome) {
    auto& slot = groupings_[learning.slot];
    use_grouping(slot, outcome->grouping, learned->split_features);
    GroupTransition transition;
    transition.grouping = learning.slot;
    for (const auto& [child, parent] : outcome->parent)
      if (child != parent)
        transition.copies.emplace_back(group_id(slot, child), group_id(slot, parent));
    for (const auto& [old_key, heir] : outcome->heir)
      if (!learned->sizes.contains(old_key))
        transition.heirs.emplace_back(group_id(slot, old_key), group_id(slot, heir));
    record.inherited = transition.copies.size();
    batch.transition = std::move(transition);
  }
  regroups_.push_back(std::move(record));
}

std::uint32_t TraceLoader::intern_decision(std::string_view name) {
  auto it = decision_ids_.find(name);
  if (it != decision_ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(decision_names_.size());
  decision_names_.emplace_back(name);
  decision_ids_.emplace(std::string(name), id);
  return id;
}

std::uint32_t TraceLoader::intern_load(std::uint32_t decision, const DecisionLoad& load) {
  // Fast path: a decision's LoadMap is usually the same as on its last session.
  if (decision >= last_load_.size()) last_load_.resize(decision + 1);
  auto& last = last_load_[decision];
  if (last.id != 0 && last.steps.size() == load.steps.size()) {
    bool same = true;
    for (std::size_t i = 0; i < load.steps.size() && same; ++i)
      same = last.steps[i].first == load.steps[i].threshold.value &&
             last.steps[i].second == load.steps[i].factor.value;
    if (same) return last.id;
  }
  last.steps.clear();
  for (const auto& step : load.steps)
    last.steps.emplace_back(step.threshold.value, step.factor.value);
  last.id = intern_load_slow(decision, load);
  return last.id;
}

std::uint32_t TraceLoader::intern_load_slow(std::uint32_t decision, const DecisionLoad& load) {
  // Key: decision id and the steps' exact values.
  scratch_.assign(reinterpret_cast<const char*>(&decision), sizeof decision);
  for (const auto& step : load.steps) {
    scratch_.append(reinterpret_cast<const char*>(&step.threshold.value), sizeof(double));
    scratch_.append(reinterpret_cast<const char*>(&step.factor.value), sizeof(double));
  }
  auto it = load_ids_.find(scratch_);
  if (it != load_ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(loads_.size());
  std::vector<std::pair<double, double>> steps;
  for (const auto& step : load.steps) steps.emplace_back(step.threshold.value, step.factor.value);
  // Highest threshold first: the first one exceeded is the one that applies.
  std::stable_sort(steps.begin(), steps.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  loads_.push_back(std::move(steps));
  load_ids_.emplace(scratch_, id);
  return id;
}

std::int64_t TraceLoader::minute_of(const TraceSession& session) const {
  return (session.time_ms / 1000 - first_time_ms_ / 1000) / 60;
}

void TraceLoader::add(const TraceSession& session, MinuteBatch& batch) {
  if (session.features.size() != schema_.size())
    throw InvalidInput("trace session " + std::to_string(sessions_read_ + 1) + " has " +
                       std::to_string(session.features.size()) + " features; the schema has " +
                       std::to_string(schema_.size()));
  ++sessions_read_;
  SimSession sim;
  sim.time_s = static_cast<double>(session.time_ms) / 1000.0;
  sim.first_option = static_cast<std::uint32_t>(batch.options.size());
  sim.option_count = static_cast<std::uint32_t>(session.decisions.size());
  for (const auto& entry : session.decisions) {
    SimOption option;
    option.decision = intern_decision(entry.decision);
    option.cost = entry.cost.value;
    for (const auto& load : session.loads)
      if (load.decision == entry.decision) option.load = intern_load(option.decision, load);
    batch.options.push_back(option);
  }
  batch.sessions.push_back(sim);
  if (learning_) sample(session, batch);

  for (auto& slot : groupings_) {
    scratch_.clear();
    for (auto index : slot.feature_indices) {
      scratch_ += session.features[index];
      scratch_ += '\x1f';
    }
    auto it = slot.by_values.find(scratch_);
    if (it == slot.by_values.end()) {
      for (std::size_t i = 0; i < feature_views_.size(); ++i)
        feature_views_[i] = session.features[i];
      const auto id = group_id(slot, slot.grouping->key(FeatureView(feature_views_)));
      it = slot.by_values.emplace(scratch_, id).first;
    }
    batch.groups.push_back(it->second);
  }
}

bool TraceLoader::read_minute() {
  minute_.clear();
  cursor_ = 0;
  if (!have_lookahead_) {
    if (!source_.next(lookahead_)) return false;
    have_lookahead_ = true;
    if (first_time_ms_ < 0) first_time_ms_ = lookahead_.time_ms;
  }
  current_minute_ = minute_of(lookahead_);
  do {
    minute_.push_back(std::move(lookahead_));
    have_lookahead_ = source_.next(lookahead_);
  } while (have_lookahead_ && minute_of(lookahead_) == current_minute_);
  return true;
}

double TraceLoader::seconds_in_trace(const TraceSession& session) const {
  return static_cast<double>(session.time_ms) / 1000.0 - static_cast<double>(first_time_ms_ / 1000);
}

bool TraceLoader::next_batch(MinuteBatch& batch) {
  batch.clear();
  // A whole minute is read first: its LoadMap shares are of its total.
  if (cursor_ == minute_.size() && !read_minute()) return false;
  batch.minute = current_minute_;
  batch.minute_sessions = minute_.size();
  batch.minute_start = cursor_ == 0;
  std::size_t end = minute_.size();
  if (learning_) {
    // Regroup when due, from the samples of the sessions before, as a node's
    // timer fires between reports; the batch ends at the next due time.
    auto& learning = *learning_;
    const double now_s = seconds_in_trace(minute_[cursor_]);
    if (now_s >= learning.next_regroup_s) {
      const double interval = learning.config.regroup_interval_s;
      double due = learning.next_regroup_s;
      while (due + interval <= now_s) due += interval;  // a gap in the trace: the latest
      regroup(due, batch);
      learning.next_regroup_s = due + interval;
    }
    end = cursor_ + 1;
    while (end < minute_.size() && seconds_in_trace(minute_[end]) < learning.next_regroup_s) ++end;
  }
  for (; cursor_ < end; ++cursor_) add(minute_[cursor_], batch);
  return true;
}

}  // namespace pytheas::sim
