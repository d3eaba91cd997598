#include "evaluation/reward_model.hpp"

namespace pytheas::evaluation {

RewardModel::RewardModel(const SampleSet& set) : by_decision_(set.decisions.size()) {
  double total = 0;
  for (const auto& sample : set.samples) {
    const auto decision = set.chosen_id(sample);
    auto& cell_mean = by_cell_[cell(sample.group, decision)];
    cell_mean.sum += sample.reward;
    cell_mean.count += 1;
    by_decision_[decision].sum += sample.reward;
    by_decision_[decision].count += 1;
    total += sample.reward;
  }
  overall_ = set.samples.empty() ? 0 : total / static_cast<double>(set.samples.size());
}

double RewardModel::predict(std::uint32_t group, std::uint32_t decision) const {
  if (auto it = by_cell_.find(cell(group, decision)); it != by_cell_.end() && it->second.count > 0)
    return it->second.sum / it->second.count;
  if (decision < by_decision_.size() && by_decision_[decision].count > 0)
    return by_decision_[decision].sum / by_decision_[decision].count;
  return overall_;
}

}  // namespace pytheas::evaluation
