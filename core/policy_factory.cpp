#include <cmath>

#include "core/errors.hpp"
#include "core/policy_makers.hpp"

namespace pytheas {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw InvalidInput("policy config: " + message);
}

std::string show(double value) {
  return std::to_string(value);
}

std::unique_ptr<ArmPolicy> construct(ConfigPtr config, std::uint64_t seed) {
  const std::string& kind = config->kind;
  if (kind == "ducb" || kind == "ucb") return make_ucb_policy(std::move(config), seed);
  if (kind == "swucb") return make_sliding_window_ucb_policy(std::move(config), seed);
  if (kind == "egreedy") return make_egreedy_policy(std::move(config), seed);
  if (kind == "thompson") return make_thompson_policy(std::move(config), seed);
  if (kind == "random") return make_random_policy(std::move(config), seed);
  if (kind == "fixed") return make_fixed_policy(std::move(config), seed);
  throw InvalidInput("policy config: unknown kind '" + kind + "'");  // validated before
}

}  // namespace

PolicyConfig PolicyConfig::original_ducb() {
  PolicyConfig config;
  config.kind = "ducb";
  config.batch_s = 2;
  config.batch_discount = 0.8;
  config.exploration = 1000;
  config.normalize = false;
  config.pick_list = 10;
  config.max_observations = 0;  // the original forgot by time only
  config.change_threshold = 0;  // and detected no change
  return config;
}

void validate_policy_config(const PolicyConfig& c) {
  static const char* const kKinds[] = {"ducb",     "swucb",  "ucb",  "egreedy",
                                       "thompson", "random", "fixed"};
  bool known = false;
  for (const char* kind : kKinds) known = known || c.kind == kind;
  require(known, "unknown kind '" + c.kind +
                     "' (expected ducb, swucb, ucb, egreedy, thompson, random or fixed)");
  require(std::isfinite(c.half_life_s) && c.half_life_s > 0,
          "half_life_s must be > 0, got " + show(c.half_life_s));
  require(std::isfinite(c.batch_s) && c.batch_s >= 0,
          "batch_s must be >= 0, got " + show(c.batch_s));
  require(c.batch_discount > 0 && c.batch_discount <= 1,
          "batch_discount must be in (0, 1], got " + show(c.batch_discount));
  require(std::isfinite(c.exploration) && c.exploration >= 0,
          "exploration must be >= 0, got " + show(c.exploration));
  require(c.pick_list >= 1 && c.pick_list <= 1000,
          "pick_list must be in [1, 1000], got " + std::to_string(c.pick_list));
  require(std::isfinite(c.window_s) && c.window_s > 0,
          "window_s must be > 0, got " + show(c.window_s));
  require(c.epsilon >= 0 && c.epsilon <= 1, "epsilon must be in [0, 1], got " + show(c.epsilon));
  require(c.thompson_draws >= 1 && c.thompson_draws <= 100000,
          "thompson_draws must be in [1, 100000], got " + std::to_string(c.thompson_draws));
  require(c.kind != "fixed" || !c.fixed_decision.empty(),
          "fixed_decision must be set for kind 'fixed'");
  require(std::isfinite(c.forget_after_s) && c.forget_after_s >= 0,
          "forget_after_s must be >= 0, got " + show(c.forget_after_s));
  require(std::isfinite(c.change_threshold) && c.change_threshold >= 0,
          "change_threshold must be >= 0, got " + show(c.change_threshold));
  require(std::isfinite(c.max_observations) && c.max_observations >= 0,
          "max_observations must be >= 0, got " + show(c.max_observations));
}

std::unique_ptr<Policy> make_policy(const PolicyConfig& config, std::uint64_t seed) {
  return make_policy(std::make_shared<const PolicyConfig>(config), seed);
}

std::unique_ptr<Policy> make_policy(std::shared_ptr<const PolicyConfig> config,
                                    std::uint64_t seed) {
  if (!config) throw InvalidInput("policy config: null");
  validate_policy_config(*config);
  return construct(std::move(config), seed);
}

std::unique_ptr<Policy> restore_policy(std::string_view bytes, double now) {
  return restore_policy(bytes, now, nullptr);
}

std::unique_ptr<Policy> inherit_policy(std::string_view parent, double now) {
  auto policy = restore_policy(parent, now);
  policy->limit_evidence(kInheritedEvidence);
  return policy;
}

std::string inherited_policy_state(std::string_view parent, double now) {
  return inherit_policy(parent, now)->serialize(now);
}

std::unique_ptr<Policy> restore_policy(std::string_view bytes, double now,
                                       std::shared_ptr<const PolicyConfig> shared) {
  StateReader reader = StateReader::open(bytes);
  auto stored = read_policy_config(reader);
  std::shared_ptr<const PolicyConfig> config =
      shared && *shared == stored ? std::move(shared)
                                  : std::make_shared<const PolicyConfig>(std::move(stored));
  try {
    validate_policy_config(*config);
  } catch (const InvalidInput& error) {
    throw CorruptState(std::string("corrupt state: config: ") + error.what());
  }
  auto policy = construct(std::move(config), 0);
  policy->restore(reader, now);
  reader.expect_end();
  return policy;
}

}  // namespace pytheas
