#include "core/arm_policy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>
#include <unordered_set>

#include "core/errors.hpp"

namespace pytheas {
namespace {

// Scaled sums below this after a rebase are flushed to 0, so long-idle arms
// never reach subnormal numbers (slow arithmetic) and count as unplayed.
constexpr double kFlushBelow = 1e-250;

// Upper bound on arms read back from serialized state (sanity, not policy).
constexpr std::uint32_t kMaxRestoredArms = 1u << 20;

// Change detection (see the header). The new level of an arm after an alarm
// is worth the observations that raised it, at most this many.
constexpr double kLevelEvidence = 20;
// After an arm's scores dropped, every other arm counts for at most this many
// observations: none, so each is tried again at once. What they showed may
// be as stale (a swap moves two CDNs at once), and keeping even a few
// observations of a stale mean kept a group on the arm that had dropped when
// the other had looked worse before the change (the hls.js swap, test/clients:
// with 5, 1 run in 3 never left it; with 0, 3 in 3 followed within 7).
constexpr double kAfterDropEvidence = 0;
// The deviation the detector standardizes by is at least this share of the
// observed score range: on near-constant scores a tiny wobble is not a change.
constexpr double kSigmaFloor = 0.05;

bool detects_changes(const PolicyConfig& config) {
  return config.change_threshold > 0 && config.kind != "swucb" && config.kind != "random" &&
         config.kind != "fixed";
}

// ucb is the textbook baseline that never forgets; swucb forgets by its window.
bool caps_observations(const PolicyConfig& config) {
  return config.max_observations > 0 && config.kind != "ucb" && config.kind != "swucb";
}

// The arms' block (see ArmPolicy::allocate_arms): n ArmStats, then n
// ChangeDetectors, both plain values the block's bytes hold directly.
static_assert(std::is_trivially_copyable_v<ArmStats> && std::is_trivially_destructible_v<ArmStats>);
static_assert(std::is_trivially_copyable_v<ChangeDetector> &&
              std::is_trivially_destructible_v<ChangeDetector>);
static_assert(alignof(ArmStats) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__ &&
              sizeof(ArmStats) % alignof(ChangeDetector) == 0);

ArmStats* stats_in(std::byte* block) {
  return reinterpret_cast<ArmStats*>(block);
}
ChangeDetector* detectors_in(std::byte* block, std::size_t arms) {
  return reinterpret_cast<ChangeDetector*>(block + arms * sizeof(ArmStats));
}

void require_finite(const char* field, double value) {
  if (!std::isfinite(value)) StateReader::fail(field, "not a finite number");
}

}  // namespace

std::unique_ptr<std::byte[]> ArmPolicy::allocate_arms(std::size_t arms) const {
  if (arms == 0) return nullptr;
  const std::size_t per_arm = sizeof(ArmStats) + (detects_ ? sizeof(ChangeDetector) : 0);
  auto block = std::make_unique_for_overwrite<std::byte[]>(arms * per_arm);
  std::uninitialized_value_construct_n(stats_in(block.get()), arms);
  if (detects_) std::uninitialized_value_construct_n(detectors_in(block.get(), arms), arms);
  return block;
}

ArmPolicy::ArmPolicy(std::shared_ptr<const PolicyConfig> config, std::uint64_t seed,
                     DecayClock clock, bool decay_stats)
    : config_(std::move(config)),
      rng_(seed),
      clock_(clock),
      names_(ArmNames::make(std::span<const std::string_view>{})),
      decay_stats_(decay_stats),
      detects_(detects_changes(*config_)),
      caps_observations_(caps_observations(*config_)) {}

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
    auto grown = allocate_arms(n + 1);
    std::copy_n(stats(), n, stats_in(grown.get()));
    stats_in(grown.get())[n] = ArmStats{0, 0, time};
    if (detects_) std::copy_n(detectors(), n, detectors_in(grown.get(), n + 1));
    names_ = names_->with(outcome.decision);
    block_ = std::move(grown);
    on_arm_added();
    arm = n;
  }

  const double growth = growth_at(time);
  if (detects_) {
    detect_change(arm, outcome.score, time, growth);
    detectors()[arm].sum_squares += outcome.score * outcome.score * growth;
  }
  ArmStats& stats = this->stats()[arm];
  stats.sum += outcome.score * growth;
  stats.count += growth;
  stats.last_seen = time;
  // Memory in observations as well as in time: a busy group's arm counts for
  // at most this many (each new score then weighs 1/max: an average over the
  // last ~max observations), so its estimate follows a change as fast in a
  // group at 1,000 sessions/s as the half-life lets a quiet one.
  if (caps_observations_) cap_evidence(arm, stats.count / growth, config_->max_observations);
  observe_range(outcome.score, time);
  on_observe(arm, outcome.score, time);
  last_time_ = time;
  started_ = true;
}

void ArmPolicy::detect_change(std::size_t arm, double score, double time, double growth) {
  ArmStats& stats = this->stats()[arm];
  ChangeDetector& detector = detectors()[arm];
  if (stats.count / growth < ChangeDetector::kWarmup) return;
  const double mean = stats.sum / stats.count;
  const double variance = std::max(detector.sum_squares / stats.count - mean * mean, 0.0);
  const double sigma = std::max(std::sqrt(variance), kSigmaFloor * score_range(time));
  const auto alarm = detector.step((score - mean) / sigma, score, config_->change_threshold);
  if (alarm.direction == 0) return;
  ++changes_detected_;
  const double level = alarm.level;
  const double weight = std::clamp(alarm.run, 1.0, kLevelEvidence) * growth;
  stats.sum = level * weight;
  stats.count = weight;
  detector.sum_squares = weight * (level * level + variance);
  if (alarm.direction > 0) return;
  for (std::size_t i = 0; i < names_->size(); ++i)
    if (i != arm) cap_evidence(i, this->stats()[i].count / growth, kAfterDropEvidence);
}

void ArmPolicy::cap_evidence(std::size_t arm, double count, double max_count) {
  if (count <= max_count) return;
  const double factor = max_count / count;  // sum and count alike: the mean stays
  stats()[arm].sum *= factor;
  stats()[arm].count *= factor;
  if (detects_) detectors()[arm].sum_squares *= factor;
  on_scale(arm, factor);
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
  ChangeDetector* const detectors = this->detectors();
  for (std::size_t i = 0; i < names_->size(); ++i) {
    auto& arm = stats()[i];
    arm.sum *= factor;
    arm.count *= factor;
    if (detectors) detectors[i].sum_squares *= factor;
    if (arm.count < kFlushBelow) {
      arm.sum = arm.count = 0;
      if (detectors) detectors[i] = ChangeDetector{};
    }
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
  auto remaining = allocate_arms(kept);
  const ChangeDetector* const detectors = this->detectors();
  for (std::size_t i = 0, j = 0; i < all.size(); ++i) {
    if (!keep[i]) continue;
    stats_in(remaining.get())[j] = all[i];
    if (detectors) detectors_in(remaining.get(), kept)[j] = detectors[i];
    ++j;
  }
  names_ = names_->keep(keep);
  block_ = std::move(remaining);
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
  for (std::size_t i = 0; i < n; ++i) cap_evidence(i, views[i].count, max_count);
}

void ArmPolicy::current_stats(double /*now*/, double growth, std::span<ArmView> out) const {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& arm = stats()[i];
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
  // The exploration scale: the observed score range, but never below the
  // spread of the arms' means. The range forgets as it ages, and while one
  // arm is played it shrinks to that arm's own noise: a bonus that small
  // would never send a session to an arm whose mean is known to be a little
  // worse, so a change that made it better would go unseen.
  double lowest = std::numeric_limits<double>::infinity(), highest = -lowest;
  for (const auto& arm : stats)
    if (arm.count > 0) {
      lowest = std::min(lowest, arm.mean);
      highest = std::max(highest, arm.mean);
    }
  const double spread = highest > lowest ? highest - lowest : 0.0;
  const double scale = config.normalize ? config.exploration * std::max(score_range(now), spread)
                                        : config.exploration;
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

double ArmPolicy::aligned(double delta) const {
  const double quantum = time_quantum();
  // Floor, not round: floor((a + k q) / q) = floor(a / q) + k, so a state
  // written at a and read at a + k q moves by exactly k q (round is not
  // consistent at halves of opposite signs).
  return quantum > 0 ? std::floor(delta / quantum) * quantum : delta;
}

void ArmPolicy::shift_time(double delta) {
  if (delta == 0) return;
  const double exponent = clock_.exponent_shift(delta);
  last_time_ += delta;
  reference_exponent_ += exponent;
  range_exponent_ += exponent;
  cached_exponent_ = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < names_->size(); ++i) stats()[i].last_seen += delta;
  on_shift(delta);
}

std::string ArmPolicy::serialize(double now) const {
  if (!std::isfinite(now)) throw InvalidInput("serialize: time is not finite");
  // Format 3: every time relative to `now` (the writing instant), so the state
  // means the same to a reader whose clock differs from ours.
  const double shift = -aligned(now);
  const double exponent = clock_.exponent_shift(shift);
  StateWriter writer;
  write_policy_config(writer, *config_);
  for (auto word : rng_.state()) writer.u64(word);
  writer.u8(started_ ? 1 : 0);
  writer.f64(last_time_ + shift);
  writer.f64(reference_exponent_ + exponent);
  writer.u8(has_range_ ? 1 : 0);
  writer.f64(range_low_);
  writer.f64(range_high_);
  writer.f64(range_exponent_ + exponent);
  writer.u64(snapshot_version_);
  writer.u32(static_cast<std::uint32_t>(names_->size()));
  for (std::size_t i = 0; i < names_->size(); ++i) {
    const auto& arm = stats()[i];
    writer.str((*names_)[i]);
    writer.f64(arm.sum);
    writer.f64(arm.count);
    writer.f64(arm.last_seen + shift);
  }
  write_extra(writer, shift);
  // Format 2: the detectors (after everything format 1 held). Their runs are
  // written as sums, as when detectors held sums.
  const ChangeDetector* const detectors = this->detectors();
  writer.u8(detectors ? 1 : 0);
  if (detectors)
    for (std::size_t i = 0; i < names_->size(); ++i) {
      const auto& detector = detectors[i];
      writer.f64(detector.sum_squares);
      writer.f64(detector.up);
      writer.f64(detector.down);
      writer.f64(detector.up_run);
      writer.f64(detector.down_run);
      writer.f64(static_cast<double>(detector.up_mean) * detector.up_run);
      writer.f64(static_cast<double>(detector.down_mean) * detector.down_run);
    }
  return writer.seal();
}

void ArmPolicy::restore(StateReader& reader, double now) {
  if (!std::isfinite(now)) throw InvalidInput("restore: time is not finite");
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
  auto block = allocate_arms(count);
  ArmStats* const arms = stats_in(block.get());
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
  block_ = std::move(block);
  read_extra(reader);
  bool restored_detectors = false;
  if (reader.version() >= 2 && reader.boolean("has detectors")) {
    if (reader.remaining() / 56 < count) StateReader::fail("detectors", "truncated");
    // Read whether or not detection is on now (the payload holds them).
    std::vector<ChangeDetector> detectors(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      auto& detector = detectors[i];
      detector.sum_squares = reader.f64("detector sum of squares");
      const double up = reader.f64("detector up"), down = reader.f64("detector down");
      const double up_run = reader.f64("detector up run");
      const double down_run = reader.f64("detector down run");
      const double up_sum = reader.f64("detector up sum");
      const double down_sum = reader.f64("detector down sum");
      for (double value : {detector.sum_squares, up, down, up_run, down_run})
        if (!std::isfinite(value) || value < 0)
          StateReader::fail("detector", "not a finite number >= 0");
      if (!std::isfinite(up_sum) || !std::isfinite(down_sum))
        StateReader::fail("detector", "run sum not finite");
      detector.up = ChangeDetector::saturate(up);
      detector.down = ChangeDetector::saturate(down);
      detector.up_run = ChangeDetector::saturate(up_run);
      detector.down_run = ChangeDetector::saturate(down_run);
      detector.up_mean = up_run > 0 ? ChangeDetector::saturate(up_sum / up_run) : 0.0f;
      detector.down_mean = down_run > 0 ? ChangeDetector::saturate(down_sum / down_run) : 0.0f;
    }
    if (detects_) std::copy(detectors.begin(), detectors.end(), this->detectors());
    restored_detectors = true;
  }
  // Detection on but no detectors stored (format 1, or a config that had it
  // off): they start from scratch, their sums of squares from the means.
  if (detects_ && !restored_detectors)
    for (std::uint32_t i = 0; i < count; ++i)
      if (arms[i].count > 0) detectors()[i].sum_squares = arms[i].sum * arms[i].sum / arms[i].count;
  // Onto the reader's time base: format 3 times are relative to the writing
  // instant; older formats hold instants of their writer's wall clock, which
  // means nothing here, so their last update becomes the writing instant.
  shift_time(aligned(reader.version() >= 3 ? now : now - last_time_));
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
  writer.f64(config.change_threshold);  // format 2
  writer.f64(config.max_observations);  // format 2
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
  // Format 1 had no change detection: such a state takes today's default.
  if (reader.version() >= 2) {
    config.change_threshold = reader.f64("change_threshold");
    config.max_observations = reader.f64("max_observations");
  }
  return config;
}

}  // namespace pytheas
