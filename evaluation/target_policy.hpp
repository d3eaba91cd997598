#pragma once
// TargetPolicy: a policy `pytheas evaluate` estimates, named as on its
// command line:
//   logged      the logging policy itself (its observed mean score);
//   random      uniform among each session's candidates;
//   fixed:D     always decision D when offered (the node's `fixed`: else the
//               best observed candidate);
//   ducb, ducb-original, swucb, ucb, egreedy, thompson
//               the core policies the node runs, one per group, learning as
//               they go.
// A target is *stationary on a log* when its probability of each candidate
// is known per session without running it: random always; fixed:D when D is
// offered in every session. Stationary targets get IPS, SNIPS and doubly
// robust estimates; every target but `logged` gets a replay estimate.
// Plain values; thread-compatible.

#include <span>
#include <string>
#include <vector>

#include "core/policy.hpp"
#include "evaluation/sample_set.hpp"

namespace pytheas::evaluation {

struct TargetPolicy {
  enum class Kind { logged, random, fixed, learning };
  std::string name;  ///< as given, e.g. "fixed:cdn-a"
  Kind kind = Kind::learning;
  PolicyConfig config;  ///< the core policy (random, fixed and learning kinds)
};

/// Parses a comma-separated list. `defaults` holds the parameters of the
/// learning kinds (half-life, exploration, ...). Throws InvalidInput naming an
/// unknown policy, an empty fixed decision or a policy given twice.
std::vector<TargetPolicy> parse_target_policies(const std::string& list,
                                                const PolicyConfig& defaults);

/// See above. `logged` counts as stationary (its own propensities are known).
bool is_stationary_on(const TargetPolicy& target, const SampleSet& set);

/// Probability the stationary `target` gives each candidate of `sample`
/// (`out` has one slot per candidate). Not for `logged` or learning kinds.
void stationary_probabilities(const TargetPolicy& target, const SampleSet& set,
                              const Sample& sample, std::span<double> out);

}  // namespace pytheas::evaluation
