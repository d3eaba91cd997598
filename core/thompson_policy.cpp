#include <cmath>
#include <limits>
#include <numbers>

#include "core/policy_makers.hpp"

namespace pytheas {
namespace {

// ThompsonPolicy (thompson): Gaussian Thompson sampling. Each arm's mean has
// the posterior N(mean_i, sigma^2 / n_i) (flat prior, discounted counts), with
// sigma = scale / 2: half the observed score range (the largest standard
// deviation scores in that range can have) times `exploration`. A snapshot
// draws `thompson_draws` samples of every arm from the policy's own seeded Rng
// (so it is deterministic and part of the serialized state) and weights each
// arm by the share of draws it wins; unplayed arms take all the weight.
// Not thread-safe (see ArmPolicy).
class ThompsonPolicy final : public ArmPolicy {
 public:
  ThompsonPolicy(ConfigPtr config, std::uint64_t seed)
      : ArmPolicy(config, seed, discount_clock(*config)) {}

 protected:
  void assign(std::span<const ArmView> stats, double scale, std::span<double> weights,
              std::span<double> ranks) override {
    const std::size_t n = stats.size();
    if (n == 0) return;
    std::size_t unplayed = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const bool played = stats[i].count > 0;
      ranks[i] = played ? stats[i].mean : std::numeric_limits<double>::infinity();
      unplayed += played ? 0 : 1;
    }
    if (unplayed > 0) {
      for (std::size_t i = 0; i < n; ++i)
        weights[i] = stats[i].count > 0 ? 0 : 1.0 / static_cast<double>(unplayed);
      return;
    }
    const double sigma = scale / 2;
    const int draws = config().thompson_draws;
    NormalPairs normals{rng()};
    for (int draw = 0; draw < draws; ++draw) {
      std::size_t best = 0;
      double best_sample = -std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < n; ++i) {
        const double sample = stats[i].mean + sigma / std::sqrt(stats[i].count) * normals.next();
        if (sample > best_sample) {
          best_sample = sample;
          best = i;
        }
      }
      weights[best] += 1;
    }
    for (std::size_t i = 0; i < n; ++i) weights[i] /= draws;
  }

 private:
  // Standard normal deviates by Box-Muller, both of each pair used: the same
  // on every platform, unlike std::normal_distribution. Lives for one
  // snapshot, so an unused spare is simply dropped (no hidden state).
  struct NormalPairs {
    Rng& rng;
    double spare = 0;
    bool has_spare = false;
    double next() {
      if (has_spare) {
        has_spare = false;
        return spare;
      }
      const double radius = std::sqrt(-2.0 * std::log(1.0 - rng.uniform()));  // u in (0, 1]
      const double angle = 2.0 * std::numbers::pi * rng.uniform();
      spare = radius * std::sin(angle);
      has_spare = true;
      return radius * std::cos(angle);
    }
  };
};

}  // namespace

std::unique_ptr<ArmPolicy> make_thompson_policy(ConfigPtr config, std::uint64_t seed) {
  return std::make_unique<ThompsonPolicy>(std::move(config), seed);
}

}  // namespace pytheas
