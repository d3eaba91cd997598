#include "core/arm_policy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "core/errors.hpp"

namespace pytheas {
namespace {

// Scaled sums below this after a rebase are flushed to 0, so long-idle arms
// never reach subnormal numbers (slow arithmetic) and count as unplayed.
constexpr double kFlushBelow = 1e-250;

// Upper bound on arms read back from serialized state (sanity, not policy).
constexpr std::uint32_t kMaxRestoredArms = 1u << 20;

void require_finite(const char* field, double value) {
  if (!std::isfinite(value)) StateReader::fail(field, "not a finite number");
}

}  // namespace

ArmPolicy::ArmPolicy(std::shared_ptr<const PolicyConfig> config, std::uint64_t seed,
                     DecayClock clock, bool decay_stats)
    : config_(std::move(config)),
      rng_(seed),
      clock_(clock),
      names_(ArmNames::make(std::span<const std::string_view>{})),
      decay_stats_(decay_stats) {}

void ArmPolicy::update(const Outcome& outcome) {
  // Validate everything first: a throw must leave the policy unchanged.
  if (outcome.decision.empty()) throw InvalidInput("update: empty decision");
  if (!std::isfinite(outcome.score))
    throw InvalidInput("update: score for decision '" + std::string(outcome.decision) +
                       "' is not finite");
  if (!std::isfinite(outcome.time))
    throw InvalidInput("update: time for decision '" + std::string(outcome.decision) +
                       "' is not finite");
  if (!outcome.candidates.empty() && std::find(outcome.candidates.begin(), outcome.candidates.end(),
                                               outcome.decision) == outcome.candidates.end())
    throw InvalidInput("update: decision '" + std::string(outcome.decision) +
                       "' is not among the candidates");

  const double time = started_ ? std::max(outcome.time, last_time_) : outcome.time;
  const std::int32_t found = names_->find(outcome.decision);
  std::size_t arm = static_cast<std::size_t>(found);
  if (found == ArmNames::kNotFound) {
    forget(time);  // a new arm: first drop stale ones so state stays bounded
    // Exactly as many slots as arms: groups hold a handful of arms, arms are
    // added rarely, and a doubling vector would waste much of the budget.
    const std::size_t n = names_->size();
    auto grown = std::make_unique<ArmStats[]>(n + 1);
    std::copy_n(arms_.get(), n, grown.get());
    grown[n] = ArmStats{0, 0, time};
    names_ = names_->with(outcome.decision);
    arms_ = std::move(grown);
    on_arm_added();
    arm = n;
  }

  const double growth = growth_at(time);
  ArmStats& stats = arms_[arm];
  stats.sum += outcome.score * growth;
  stats.count += growth;
  stats.last_seen = time;
  observe_range(outcome.score, time);
  on_observe(arm, outcome.score, time);
  last_time_ = time;
  started_ = true;
}

double ArmPolicy::growth_at(double time) {
  if (!decay_stats_ || !clock_.decays()) return 1;
  const double exponent = clock_.exponent(time);
  if (exponent == cached_exponent_) return cached_growth_;
  if (exponent - reference_exponent_ > kRebaseExponent) rebase(exponent);
  cached_exponent_ = exponent;
  cached_growth_ = std::exp2(exponent - reference_exponent_);
  return cached_growth_;
}

void ArmPolicy::rebase(double exponent) {
  // Multiplying by a power of two is exact, so rebasing never changes a value
  // beyond flushing the negligible ones.
  const double factor = std::exp2(reference_exponent_ - exponent);
  for (auto& arm : std::span<ArmStats>(arms_.get(), names_->size())) {
    arm.sum *= factor;
    arm.count *= factor;
    if (arm.count < kFlushBelow) arm.sum = arm.count = 0;
  }
  reference_exponent_ = exponent;
}

void ArmPolicy::forget(double now) {
  const double limit = config_->forget_after_s;
  if (limit <= 0) return;
  auto stale = [&](const ArmStats& arm) { return now - arm.last_seen > limit; };
  const auto all = arms();
  if (std::none_of(all.begin(), all.end(), stale)) return;
  std::vector<std::uint8_t> keep(all.size());
  std::size_t kept = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    keep[i] = stale(all[i]) ? 0 : 1;
    kept += keep[i];
  }
  auto remaining = std::make_unique<ArmStats[]>(kept);
  std::copy_if(all.begin(), all.end(), remaining.get(),
               [&](const ArmStats& arm) { return !stale(arm); });
  names_ = names_->keep(keep);
  arms_ = std::move(remaining);
  on_compact(keep);
}

void ArmPolicy::observe_range(double score, double time) {
  const double exponent = clock_.exponent(time);
  if (!has_range_) {
    range_low_ = range_high_ = score;
    range_exponent_ = exponent;
    has_range_ = true;
    return;
  }
  if (exponent != range_exponent_) {
    // Shrink the range toward its centre as it ages, so one outlier stops
    // inflating exploration after a few half-lives.
    const double shrink = std::exp2(range_exponent_ - exponent);
    const double centre = 0.5 * (range_low_ + range_high_);
    const double half = 0.5 * (range_high_ - range_low_) * shrink;
    range_low_ = centre - half;
    range_high_ = centre + half;
    range_exponent_ = exponent;
  }
  range_low_ = std::min(range_low_, score);
  range_high_ = std::max(range_high_, score);
}

double ArmPolicy::score_range(double now) const {
  double range = 0;
  double magnitude = 1;
  if (has_range_) {
    const double shrink = std::exp2(range_exponent_ - clock_.exponent(now));
    range = (range_high_ - range_low_) * std::min(shrink, 1.0);
    magnitude = std::max({1.0, std::abs(range_low_), std::abs(range_high_)});
  }
  // A floor keeps the scale positive (and relative to the scores' magnitude)
  // while all observed scores are equal.
  return std::max(range, 1e-9 * magnitude);
}

void ArmPolicy::limit_evidence(double max_count) {
  if (!(max_count > 0)) throw InvalidInput("limit_evidence: max_count must be positive");
  const std::size_t n = names_->size();
  if (n == 0 || !started_) return;
  std::vector<ArmView> views(n);
  current_stats(last_time_, growth_at(last_time_), views);
  for (std::size_t i = 0; i < n; ++i) {
    if (views[i].count <= max_count) continue;
    const double factor = max_count / views[i].count;  // sum and count alike: the mean stays
    arms_[i].sum *= factor;
    arms_[i].count *= factor;
    on_scale(i, factor);
  }
}

void ArmPolicy::current_stats(double /*now*/, double growth, std::span<ArmView> out) const {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& arm = arms_[i];
    out[i].count = arm.count / growth;
    out[i].mean = arm.count > 0 ? arm.sum / arm.count : 0;
  }
}

SnapshotPtr ArmPolicy::snapshot(double now) {
  if (!std::isfinite(now)) throw InvalidInput("snapshot: time is not finite");
  if (started_) now = std::max(now, last_time_);
  forget(now);
  const std::size_t n = names_->size();
  std::vector<ArmView> stats(n);
  current_stats(now, growth_at(now), stats);
  std::vector<double> weights(n, 0.0);
  std::vector<double> ranks(n, 0.0);
  const PolicyConfig& config = *config_;
  const double scale =
      config.normalize ? config.exploration * score_range(now) : config.exploration;
  assign(stats, scale, weights, ranks);

  std::vector<ArmValues> values(n);
  for (std::size_t i = 0; i < n; ++i)
    values[i] = ArmValues{weights[i], ranks[i], stats[i].mean, stats[i].count};
  ArmNames::Ptr names = names_;
  pin_arms(names, values);
  ++snapshot_version_;
  return std::make_shared<const DecisionSnapshot>(config.kind, std::move(names), values, now,
                                                  snapshot_version_, unseen_weight());
}

std::string ArmPolicy::serialize() const {
  StateWriter writer;
  write_policy_config(writer, *config_);
  for (auto word : rng_.state()) writer.u64(word);
  writer.u8(started_ ? 1 : 0);
  writer.f64(last_time_);
  writer.f64(reference_exponent_);
  writer.u8(has_range_ ? 1 : 0);
  writer.f64(range_low_);
  writer.f64(range_high_);
  writer.f64(range_exponent_);
  writer.u64(snapshot_version_);
  writer.u32(static_cast<std::uint32_t>(names_->size()));
  for (std::size_t i = 0; i < names_->size(); ++i) {
    const auto& arm = arms_[i];
    writer.str((*names_)[i]);
    writer.f64(arm.sum);
    writer.f64(arm.count);
    writer.f64(arm.last_seen);
  }
  write_extra(writer);
  return writer.seal();
}

void ArmPolicy::restore(StateReader& reader) {
  Rng::State state;
  for (auto& word : state) word = reader.u64("rng state");
  if (state == Rng::State{}) StateReader::fail("rng state", "all zero");
  rng_ = Rng::from_state(state);
  started_ = reader.boolean("started");
  last_time_ = reader.f64("last time");
  require_finite("last time", last_time_);
  reference_exponent_ = reader.f64("reference exponent");
  require_finite("reference exponent", reference_exponent_);
  has_range_ = reader.boolean("has range");
  range_low_ = reader.f64("range low");
  range_high_ = reader.f64("range high");
  range_exponent_ = reader.f64("range exponent");
  require_finite("range low", range_low_);
  require_finite("range high", range_high_);
  require_finite("range exponent", range_exponent_);
  if (range_low_ > range_high_) StateReader::fail("range", "low above high");
  snapshot_version_ = reader.u64("snapshot version");

  const std::uint32_t count = reader.u32("arm count");
  if (count > kMaxRestoredArms || count > reader.remaining() / 28)
    StateReader::fail("arm count", std::to_string(count) + " arms cannot fit the payload");
  auto arms = std::make_unique<ArmStats[]>(count);
  std::vector<std::string> names;
  names.reserve(count);
  std::unordered_set<std::string> seen;
  for (std::uint32_t i = 0; i < count; ++i) {
    ArmStats arm;
    auto name = reader.str("arm name", 1 << 16);
    if (name.empty()) StateReader::fail("arm name", "empty");
    if (!seen.insert(name).second) StateReader::fail("arm name", "duplicate '" + name + "'");
    names.push_back(std::move(name));
    arm.sum = reader.f64("arm sum");
    arm.count = reader.f64("arm count");
    arm.last_seen = reader.f64("arm last seen");
    require_finite("arm sum", arm.sum);
    require_finite("arm count", arm.count);
    require_finite("arm last seen", arm.last_seen);
    if (arm.count < 0) StateReader::fail("arm count", "negative");
    arms[i] = arm;
  }
  names_ = ArmNames::make(names);
  arms_ = std::move(arms);
  read_extra(reader);
}

void write_policy_config(StateWriter& writer, const PolicyConfig& config) {
  writer.str(config.kind);
  writer.f64(config.half_life_s);
  writer.f64(config.batch_s);
  writer.f64(config.batch_discount);
  writer.f64(config.exploration);
  writer.u8(config.normalize ? 1 : 0);
  writer.u32(static_cast<std::uint32_t>(config.pick_list));
  writer.f64(config.window_s);
  writer.f64(config.epsilon);
  writer.u32(static_cast<std::uint32_t>(config.thompson_draws));
  writer.str(config.fixed_decision);
  writer.f64(config.forget_after_s);
}

PolicyConfig read_policy_config(StateReader& reader) {
  PolicyConfig config;
  config.kind = reader.str("kind", 64);
  config.half_life_s = reader.f64("half_life_s");
  config.batch_s = reader.f64("batch_s");
  config.batch_discount = reader.f64("batch_discount");
  config.exploration = reader.f64("exploration");
  config.normalize = reader.boolean("normalize");
  config.pick_list = static_cast<int>(reader.u32("pick_list"));
  config.window_s = reader.f64("window_s");
  config.epsilon = reader.f64("epsilon");
  config.thompson_draws = static_cast<int>(reader.u32("thompson_draws"));
  config.fixed_decision = reader.str("fixed_decision", 1 << 16);
  config.forget_after_s = reader.f64("forget_after_s");
  return config;
}

}  // namespace pytheas
