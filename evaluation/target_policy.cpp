#include "evaluation/target_policy.hpp"

#include <algorithm>

#include "core/errors.hpp"

namespace pytheas::evaluation {

std::vector<TargetPolicy> parse_target_policies(const std::string& list,
                                                const PolicyConfig& defaults) {
  static const std::vector<std::string> kLearning = {"ducb", "ducb-original", "swucb",
                                                     "ucb",  "egreedy",       "thompson"};
  std::vector<TargetPolicy> targets;
  std::size_t start = 0;
  for (;;) {
    const auto end = list.find(',', start);
    const std::string name = list.substr(start, end - start);
    TargetPolicy target;
    target.name = name;
    target.config = defaults;
    if (name == "logged") {
      target.kind = TargetPolicy::Kind::logged;
    } else if (name == "random") {
      target.kind = TargetPolicy::Kind::random;
      target.config.kind = "random";
    } else if (name.starts_with("fixed:")) {
      target.kind = TargetPolicy::Kind::fixed;
      target.config.kind = "fixed";
      target.config.fixed_decision = name.substr(6);
      if (target.config.fixed_decision.empty())
        throw InvalidInput("policy 'fixed:' needs a decision, e.g. fixed:cdn-a");
    } else if (std::find(kLearning.begin(), kLearning.end(), name) != kLearning.end()) {
      target.kind = TargetPolicy::Kind::learning;
      if (name == "ducb-original")
        target.config = PolicyConfig::original_ducb();
      else
        target.config.kind = name;
    } else {
      throw InvalidInput("unknown policy '" + name +
                         "' (expected logged, random, fixed:DECISION, ducb, ducb-original, swucb, "
                         "ucb, egreedy or thompson)");
    }
    if (target.kind != TargetPolicy::Kind::logged) validate_policy_config(target.config);
    for (const auto& other : targets)
      if (other.name == name) throw InvalidInput("policy '" + name + "' given twice");
    targets.push_back(std::move(target));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return targets;
}

bool is_stationary_on(const TargetPolicy& target, const SampleSet& set) {
  switch (target.kind) {
    case TargetPolicy::Kind::logged:
    case TargetPolicy::Kind::random:
      return true;
    case TargetPolicy::Kind::learning:
      return false;
    case TargetPolicy::Kind::fixed: {
      const auto id = set.decision_id(target.config.fixed_decision);
      if (id == set.decisions.size()) return false;
      for (const auto& sample : set.samples) {
        const auto candidates = set.candidates_of(sample);
        if (std::find(candidates.begin(), candidates.end(), id) == candidates.end()) return false;
      }
      return true;
    }
  }
  return false;
}

void stationary_probabilities(const TargetPolicy& target, const SampleSet& set,
                              const Sample& sample, std::span<double> out) {
  const auto candidates = set.candidates_of(sample);
  if (target.kind == TargetPolicy::Kind::random) {
    std::fill(out.begin(), out.end(), 1.0 / static_cast<double>(candidates.size()));
    return;
  }
  // fixed, stationary: its decision is among the candidates.
  const auto id = set.decision_id(target.config.fixed_decision);
  for (std::size_t i = 0; i < candidates.size(); ++i) out[i] = candidates[i] == id ? 1.0 : 0.0;
}

}  // namespace pytheas::evaluation
