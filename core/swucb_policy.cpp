#include <algorithm>
#include <cmath>

#include "core/errors.hpp"
#include "core/policy_makers.hpp"
#include "core/ucb_index.hpp"

namespace pytheas {
namespace {

// SlidingWindowUcbPolicy (swucb, Garivier & Moulines): the UCB index over the
// observations of the last `window_s` seconds only. The window is kept as a
// ring of kBuckets time buckets per arm (sum and count of each bucket), so
// memory is bounded (kBuckets * 16 bytes per arm, whatever the traffic) and
// the window moves in steps of window_s / kBuckets: it covers between
// (kBuckets-1)/kBuckets and all of window_s. An arm with nothing in the
// window is unplayed (explored first). The score range decays with a
// half-life of window_s. Not thread-safe (see ArmPolicy).
class SlidingWindowUcbPolicy final : public ArmPolicy {
 public:
  static constexpr std::size_t kBuckets = 16;
  static constexpr std::size_t kPerArm = 2 * kBuckets;  // (sum, count) per bucket

  SlidingWindowUcbPolicy(ConfigPtr config, std::uint64_t seed)
      : ArmPolicy(config, seed, DecayClock::half_life(config->window_s), /*decay_stats=*/false),
        bucket_width_(config->window_s / kBuckets) {}

 protected:
  void assign(std::span<const ArmView> stats, double scale, std::span<double> weights,
              std::span<double> ranks) override {
    ucb_pick_list(stats, scale, config().pick_list, weights, ranks);
  }

  void current_stats(double now, double /*growth*/, std::span<ArmView> out) const override {
    const double now_bucket = std::floor(now / bucket_width_);
    for (std::size_t arm = 0; arm < out.size(); ++arm) {
      double sum = 0;
      double count = 0;
      if (has_bucket_) {
        for (std::size_t age = 0; age < kBuckets; ++age) {
          const double bucket = current_bucket_ - static_cast<double>(age);
          if (bucket <= now_bucket - static_cast<double>(kBuckets)) break;  // out of the window
          const std::size_t at = arm * kPerArm + 2 * slot(bucket);
          sum += buckets_[at];
          count += buckets_[at + 1];
        }
      }
      out[arm].count = count;
      out[arm].mean = count > 0 ? sum / count : 0;
    }
  }

  void on_observe(std::size_t arm, double score, double time) override {
    const double bucket = std::floor(time / bucket_width_);
    advance_to(bucket);
    const std::size_t at = arm * kPerArm + 2 * slot(bucket);
    buckets_[at] += score;
    buckets_[at + 1] += 1;
  }

  void on_arm_added() override { buckets_.resize(buckets_.size() + kPerArm, 0.0); }

  void on_scale(std::size_t arm, double factor) override {
    for (std::size_t i = 0; i < kPerArm; ++i) buckets_[arm * kPerArm + i] *= factor;
  }

  void on_compact(std::span<const std::uint8_t> keep) override {
    std::size_t kept = 0;
    for (std::size_t arm = 0; arm < keep.size(); ++arm) {
      if (!keep[arm]) continue;
      if (kept != arm)
        std::copy_n(buckets_.begin() + static_cast<std::ptrdiff_t>(arm * kPerArm), kPerArm,
                    buckets_.begin() + static_cast<std::ptrdiff_t>(kept * kPerArm));
      ++kept;
    }
    buckets_.resize(kept * kPerArm);
    buckets_.shrink_to_fit();
  }

  void write_extra(StateWriter& writer, double shift) const override {
    const double steps = std::round(shift / bucket_width_);
    writer.u8(has_bucket_ ? 1 : 0);
    writer.f64(current_bucket_ + steps);
    const auto moved = rotated(steps);
    writer.u32(static_cast<std::uint32_t>(moved.size()));
    for (double value : moved) writer.f64(value);
  }

  // Whole buckets, so the window keeps its bucket boundaries when the state
  // moves to another time base (ArmPolicy::shift_time).
  double time_quantum() const override { return bucket_width_; }
  void on_shift(double delta) override {
    const double steps = std::round(delta / bucket_width_);
    buckets_ = rotated(steps);
    current_bucket_ += steps;
  }

  void read_extra(StateReader& reader) override {
    has_bucket_ = reader.boolean("window started");
    current_bucket_ = reader.f64("window bucket");
    if (!std::isfinite(current_bucket_)) StateReader::fail("window bucket", "not finite");
    const std::uint32_t size = reader.u32("window size");
    if (size != arms().size() * kPerArm)
      StateReader::fail("window size", "does not match the arm count");
    buckets_.resize(size);
    for (std::size_t i = 0; i < size; ++i) {
      buckets_[i] = reader.f64("window value");
      if (!std::isfinite(buckets_[i])) StateReader::fail("window value", "not finite");
      if (i % 2 == 1 && buckets_[i] < 0) StateReader::fail("window count", "negative");
    }
  }

 private:
  static std::size_t slot(double bucket) {
    double slot = std::fmod(bucket, static_cast<double>(kBuckets));
    if (slot < 0) slot += kBuckets;
    return static_cast<std::size_t>(slot);
  }

  // The ring as it is laid out once every bucket index moves by `steps`:
  // a bucket's slot is its index mod kBuckets.
  std::vector<double> rotated(double steps) const {
    const std::size_t by = slot(steps);
    if (by == 0) return buckets_;
    std::vector<double> out(buckets_.size());
    for (std::size_t arm = 0; arm * kPerArm < buckets_.size(); ++arm)
      for (std::size_t s = 0; s < kBuckets; ++s)
        for (std::size_t i = 0; i < 2; ++i)
          out[arm * kPerArm + 2 * ((s + by) % kBuckets) + i] = buckets_[arm * kPerArm + 2 * s + i];
    return out;
  }

  // Moves the ring's head to `bucket`, clearing the buckets it reuses.
  void advance_to(double bucket) {
    if (has_bucket_ && bucket <= current_bucket_) return;
    const double steps =
        has_bucket_ ? std::min(bucket - current_bucket_, double(kBuckets)) : double(kBuckets);
    for (double step = 0; step < steps; ++step) {
      const std::size_t s = slot(bucket - step);
      for (std::size_t arm = 0; arm < arms().size(); ++arm) {
        buckets_[arm * kPerArm + 2 * s] = 0;
        buckets_[arm * kPerArm + 2 * s + 1] = 0;
      }
    }
    current_bucket_ = bucket;
    has_bucket_ = true;
  }

  double bucket_width_;
  bool has_bucket_ = false;
  double current_bucket_ = 0;    // absolute index floor(time / bucket_width_) of the ring head
  std::vector<double> buckets_;  // per arm: kBuckets x (sum, count)
};

}  // namespace

std::unique_ptr<ArmPolicy> make_sliding_window_ucb_policy(ConfigPtr config, std::uint64_t seed) {
  return std::make_unique<SlidingWindowUcbPolicy>(std::move(config), seed);
}

}  // namespace pytheas
