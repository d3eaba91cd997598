#include "evaluation/sample_set.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <unordered_map>

#include "core/errors.hpp"
#include "core/grouping.hpp"

namespace pytheas::evaluation {

std::uint32_t SampleSet::decision_id(std::string_view name) const {
  for (std::uint32_t i = 0; i < decisions.size(); ++i)
    if (decisions[i] == name) return i;
  return static_cast<std::uint32_t>(decisions.size());
}

SampleSet make_samples(const LogData& log, const std::string& grouping, double time_scale) {
  if (!(time_scale > 0) || !std::isfinite(time_scale))
    throw InvalidInput("time scale must be a positive number");
  std::unique_ptr<Grouping> by_features;
  if (grouping != "logged") {
    std::vector<std::string> names;
    if (grouping != "global") {
      std::string name;
      for (char c : grouping + ",") {
        if (c == ',' || c == '+') {
          if (!name.empty()) names.push_back(name);
          name.clear();
        } else {
          name.push_back(c);
        }
      }
    }
    FeatureSchema schema(log.feature_names);
    try {
      by_features = make_feature_grouping(schema, names);
    } catch (const InvalidInput& error) {
      throw InvalidInput(std::string("--grouping: ") + error.what() + " (the log's features: " +
                         [&] {
                           std::string all;
                           for (const auto& n : log.feature_names)
                             all += (all.empty() ? "" : ",") + n;
                           return all;
                         }() +
                         ")");
    }
  }

  SampleSet set;
  std::unordered_map<std::uint32_t, std::uint32_t> decision_of;  // string id -> decision id
  std::unordered_map<std::string, std::uint32_t> group_of;
  std::unordered_map<std::uint32_t, std::uint32_t> value_of;  // string id -> feature value id
  set.feature_names = log.feature_names;
  auto decision_id = [&](std::uint32_t string_id) {
    auto [it, added] =
        decision_of.emplace(string_id, static_cast<std::uint32_t>(set.decisions.size()));
    if (added) set.decisions.emplace_back(log.text(string_id));
    return it->second;
  };
  double first_time = NAN;
  std::vector<std::string_view> features(log.feature_names.size());
  for (const auto& d : log.decisions) {
    if (!d.reported) continue;
    if (std::isnan(first_time)) first_time = d.time;
    first_time = std::min(first_time, d.time);
  }
  if (std::isnan(first_time))
    throw LogError(log.dir.string() + ": no decision in the log was reported (" +
                   std::to_string(log.stats.decisions) + " decisions, " +
                   std::to_string(log.stats.reports) + " reports): nothing to evaluate");
  for (const auto& d : log.decisions) {
    if (!d.reported) continue;
    Sample sample;
    sample.time = (d.time - first_time) * time_scale;
    sample.report_time = std::max(sample.time, (d.report_time - first_time) * time_scale);
    std::string key;
    if (by_features) {
      const auto values = log.features_of(d);
      for (std::size_t i = 0; i < values.size(); ++i) features[i] = log.text(values[i]);
      key = by_features->key(features);
    } else {
      key = log.text(d.group);
    }
    auto [group, added] =
        group_of.emplace(std::move(key), static_cast<std::uint32_t>(set.groups.size()));
    if (added) set.groups.push_back(group->first);
    sample.group = group->second;
    sample.candidates = static_cast<std::uint32_t>(set.candidate_ids.size());
    sample.candidate_count = d.candidate_count;
    for (auto candidate : log.candidates_of(d)) set.candidate_ids.push_back(decision_id(candidate));
    sample.features = static_cast<std::uint32_t>(set.feature_ids.size());
    for (auto value : log.features_of(d)) {
      auto [it, added] =
          value_of.emplace(value, static_cast<std::uint32_t>(set.feature_values.size()));
      if (added) set.feature_values.emplace_back(log.text(value));
      set.feature_ids.push_back(it->second);
    }
    sample.chosen = d.chosen;
    sample.propensity = d.propensity;
    sample.reward = d.score;
    set.samples.push_back(sample);
  }
  std::stable_sort(set.samples.begin(), set.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.time < b.time; });
  return set;
}

}  // namespace pytheas::evaluation
