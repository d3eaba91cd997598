#pragma once
// Internal: constructors of the concrete policies, each defined in its own
// .cpp so its class stays private. Only policy_factory.cpp calls them, after
// validating the config.

#include <cstdint>
#include <memory>

#include "core/arm_policy.hpp"

namespace pytheas {

using ConfigPtr = std::shared_ptr<const PolicyConfig>;

/// ducb (discounted by half-life or batches) and ucb (no discount).
std::unique_ptr<ArmPolicy> make_ucb_policy(ConfigPtr config, std::uint64_t seed);
std::unique_ptr<ArmPolicy> make_sliding_window_ucb_policy(ConfigPtr config, std::uint64_t seed);
std::unique_ptr<ArmPolicy> make_egreedy_policy(ConfigPtr config, std::uint64_t seed);
std::unique_ptr<ArmPolicy> make_thompson_policy(ConfigPtr config, std::uint64_t seed);
std::unique_ptr<ArmPolicy> make_random_policy(ConfigPtr config, std::uint64_t seed);
std::unique_ptr<ArmPolicy> make_fixed_policy(ConfigPtr config, std::uint64_t seed);

/// The discount ducb, egreedy and thompson use: batches when batch_s > 0,
/// else the half-life.
DecayClock discount_clock(const PolicyConfig& config);

}  // namespace pytheas
