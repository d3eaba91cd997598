#include <cmath>

#include "core/policy_makers.hpp"
#include "core/ucb_index.hpp"

namespace pytheas {
namespace {

// UcbPolicy: ducb (discounted UCB, Garivier & Moulines; the original Pytheas'
// decision maker) and plain ucb (no discount). Snapshot weights are the
// pick-list shares of ucb_pick_list(). Not thread-safe (see ArmPolicy).
class UcbPolicy final : public ArmPolicy {
 public:
  UcbPolicy(ConfigPtr config, std::uint64_t seed, DecayClock clock)
      : ArmPolicy(std::move(config), seed, clock) {}

 protected:
  void assign(std::span<const ArmView> stats, double scale, std::span<double> weights,
              std::span<double> ranks) override {
    ucb_pick_list(stats, scale, config().pick_list, weights, ranks);
  }
};

}  // namespace

DecayClock discount_clock(const PolicyConfig& config) {
  if (config.batch_s > 0) return DecayClock::batches(config.batch_s, config.batch_discount);
  return DecayClock::half_life(config.half_life_s);
}

std::unique_ptr<ArmPolicy> make_ucb_policy(ConfigPtr config, std::uint64_t seed) {
  const DecayClock clock = config->kind == "ucb" ? DecayClock::none() : discount_clock(*config);
  return std::make_unique<UcbPolicy>(std::move(config), seed, clock);
}

}  // namespace pytheas
