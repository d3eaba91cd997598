#pragma once
// RewardModel: the doubly robust estimator's model of the reward, as simple
// as the original's groups: the mean logged reward of each (group, decision);
// where a group never logged that decision, the decision's mean over all
// groups; for a decision never logged, the mean of all rewards. Fitted once
// on the whole sample set. Immutable after construction; thread-safe to read.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "evaluation/sample_set.hpp"

namespace pytheas::evaluation {

class RewardModel {
 public:
  explicit RewardModel(const SampleSet& set);

  /// The predicted reward of `decision` (an id of the set) in `group`.
  double predict(std::uint32_t group, std::uint32_t decision) const;

 private:
  struct Mean {
    double sum = 0;
    double count = 0;
  };
  static std::uint64_t cell(std::uint32_t group, std::uint32_t decision) {
    return (std::uint64_t{group} << 32) | decision;
  }
  std::unordered_map<std::uint64_t, Mean> by_cell_;
  std::vector<Mean> by_decision_;
  double overall_ = 0;
};

}  // namespace pytheas::evaluation
