#include <limits>

#include "core/policy_makers.hpp"

namespace pytheas {
namespace {

// RandomPolicy (random): a uniform pick among the request's candidates, seen
// or not (unseen candidates get the same weight instead of being explored
// first). It still records per-arm statistics for inspection.
// Not thread-safe (see ArmPolicy).
class RandomPolicy final : public ArmPolicy {
 public:
  RandomPolicy(ConfigPtr config, std::uint64_t seed)
      : ArmPolicy(std::move(config), seed, DecayClock::none()) {}

 protected:
  void assign(std::span<const ArmView> /*stats*/, double /*scale*/, std::span<double> weights,
              std::span<double> ranks) override {
    for (std::size_t i = 0; i < weights.size(); ++i) {
      weights[i] = 1;
      ranks[i] = 0;
    }
  }
  double unseen_weight() const override { return 1; }
};

// FixedPolicy (fixed): always `fixed_decision` when it is a candidate; else
// the candidate with the best observed mean (rule 3), never exploring unseen
// candidates. Not thread-safe (see ArmPolicy).
class FixedPolicy final : public ArmPolicy {
 public:
  FixedPolicy(ConfigPtr config, std::uint64_t seed)
      : ArmPolicy(std::move(config), seed, DecayClock::none()) {}

 protected:
  void assign(std::span<const ArmView> stats, double /*scale*/, std::span<double> weights,
              std::span<double> ranks) override {
    for (std::size_t i = 0; i < stats.size(); ++i) {
      const bool fixed = arm_names()[i] == config().fixed_decision;
      weights[i] = fixed ? 1 : 0;
      ranks[i] = fixed ? std::numeric_limits<double>::infinity() : stats[i].mean;
    }
  }
  double unseen_weight() const override { return 0; }
  void pin_arms(ArmNames::Ptr& names, std::vector<ArmValues>& values) const override {
    if (names->find(config().fixed_decision) != ArmNames::kNotFound) return;
    names = names->with(config().fixed_decision);
    values.push_back(ArmValues{1, std::numeric_limits<double>::infinity(), 0, 0});
  }
};

}  // namespace

std::unique_ptr<ArmPolicy> make_random_policy(ConfigPtr config, std::uint64_t seed) {
  return std::make_unique<RandomPolicy>(std::move(config), seed);
}

std::unique_ptr<ArmPolicy> make_fixed_policy(ConfigPtr config, std::uint64_t seed) {
  return std::make_unique<FixedPolicy>(std::move(config), seed);
}

}  // namespace pytheas
