#pragma once
// SampleSet: the reported decisions of a log, as the estimators see them:
// per sample its (policy) time, when its reward arrived, its group under the
// evaluation's grouping, the candidates, the logged choice, its propensity
// and the reward (the score: higher is better). Decisions and groups are
// dense ids. Times are seconds from the first decision, multiplied by
// `time_scale` (a log collected by `pytheas replay --speed S` maps back to
// trace time with time_scale = S, so time-based policies see the trace's
// pace). Samples are in decision-time order. Each sample also keeps its
// feature values (the log's schema), for a replay that learns its grouping.
// A plain value; thread-compatible.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "evaluation/log_reader.hpp"

namespace pytheas::evaluation {

struct Sample {
  double time = 0;         ///< decision time (scaled, from the first decision)
  double report_time = 0;  ///< when the reward arrived (same clock)
  std::uint32_t group = 0;
  std::uint32_t candidates = 0;  ///< offset into SampleSet::candidate_ids
  std::uint32_t candidate_count = 0;
  std::uint32_t chosen = 0;  ///< index into its candidates
  double propensity = 1;
  double reward = 0;
  std::uint32_t features = 0;  ///< offset into SampleSet::feature_ids
};

struct SampleSet {
  std::vector<Sample> samples;
  std::vector<std::uint32_t> candidate_ids;  ///< decision ids
  std::vector<std::string> decisions;        ///< decision id -> name
  std::vector<std::string> groups;           ///< group id -> key
  std::vector<std::string> feature_names;    ///< the log's schema
  std::vector<std::uint32_t> feature_ids;    ///< per sample, feature_names.size() value ids
  std::vector<std::string> feature_values;   ///< value id -> text

  std::span<const std::uint32_t> candidates_of(const Sample& s) const {
    return {candidate_ids.data() + s.candidates, s.candidate_count};
  }
  std::uint32_t chosen_id(const Sample& s) const { return candidate_ids[s.candidates + s.chosen]; }
  std::span<const std::uint32_t> features_of(const Sample& s) const {
    return {feature_ids.data() + s.features, feature_names.size()};
  }
  /// Id of decision `name`, or decisions.size() when no sample offers it.
  std::uint32_t decision_id(std::string_view name) const;
};

/// `grouping`: "logged" (the group key the node logged), "global" (one group)
/// or feature names separated by ',' or '+' (keys like the node's, e.g.
/// "Asn=7922"). Throws InvalidInput on an unknown feature or a bad
/// time_scale, LogError when no decision in the log was reported.
SampleSet make_samples(const LogData& log, const std::string& grouping, double time_scale);

}  // namespace pytheas::evaluation
