#include <limits>

#include "core/policy_makers.hpp"

namespace pytheas {
namespace {

// EpsilonGreedyPolicy (egreedy): with probability epsilon a uniform arm,
// otherwise the arm with the best discounted mean (ties and unplayed arms
// share the exploit mass). Weights: epsilon/K each, plus (1 - epsilon) split
// over the best arms. Uses the same discount as ducb so it tracks change.
// Not thread-safe (see ArmPolicy).
class EpsilonGreedyPolicy final : public ArmPolicy {
 public:
  EpsilonGreedyPolicy(ConfigPtr config, std::uint64_t seed)
      : ArmPolicy(config, seed, discount_clock(*config)) {}

 protected:
  void assign(std::span<const ArmView> stats, double /*scale*/, std::span<double> weights,
              std::span<double> ranks) override {
    const std::size_t n = stats.size();
    if (n == 0) return;
    for (std::size_t i = 0; i < n; ++i)
      ranks[i] = stats[i].count > 0 ? stats[i].mean : std::numeric_limits<double>::infinity();
    double best = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < n; ++i) best = std::max(best, ranks[i]);
    std::size_t best_count = 0;
    for (std::size_t i = 0; i < n; ++i) best_count += ranks[i] == best ? 1 : 0;
    const double epsilon = config().epsilon;
    for (std::size_t i = 0; i < n; ++i) {
      weights[i] = epsilon / static_cast<double>(n);
      if (ranks[i] == best) weights[i] += (1 - epsilon) / static_cast<double>(best_count);
    }
  }
};

}  // namespace

std::unique_ptr<ArmPolicy> make_egreedy_policy(ConfigPtr config, std::uint64_t seed) {
  return std::make_unique<EpsilonGreedyPolicy>(std::move(config), seed);
}

}  // namespace pytheas
