#pragma once
// DecayClock: how fast old observations lose weight. An observation made at
// time s counts 2^-(exponent(t) - exponent(s)) at time t:
//   * none:       exponent is 0, nothing decays (ucb, baselines);
//   * half-life:  exponent(t) = t / half_life, weights halve every half_life
//                 seconds whatever the batch cadence (ducb, egreedy, thompson);
//   * batches:    exponent(t) = floor(t / batch_s) * -log2(discount), the
//                 original's "multiply by 0.8 every 2 s batch".
// A plain value; thread-safe to read.

#include <cmath>

namespace pytheas {

class DecayClock {
 public:
  static DecayClock none() { return DecayClock(Kind::kNone, 0, 0); }
  static DecayClock half_life(double seconds) { return DecayClock(Kind::kHalfLife, seconds, 1); }
  static DecayClock batches(double batch_s, double discount) {
    return DecayClock(Kind::kBatches, batch_s, -std::log2(discount));
  }

  bool decays() const { return kind_ != Kind::kNone && step_ > 0; }

  /// Shifting time by a multiple of quantum() (0: by any amount) shifts
  /// every exponent by the same exponent_shift(): what lets a policy's
  /// state be moved to another time base (ArmPolicy::restore) exactly.
  double quantum() const { return kind_ == Kind::kBatches ? period_ : 0; }
  double exponent_shift(double delta) const {
    switch (kind_) {
      case Kind::kNone:
        return 0;
      case Kind::kHalfLife:
        return delta / period_;
      case Kind::kBatches:
        return std::round(delta / period_) * step_;
    }
    return 0;
  }

  double exponent(double time) const {
    switch (kind_) {
      case Kind::kNone:
        return 0;
      case Kind::kHalfLife:
        return time / period_;
      case Kind::kBatches:
        return std::floor(time / period_) * step_;
    }
    return 0;
  }

 private:
  enum class Kind { kNone, kHalfLife, kBatches };
  DecayClock(Kind kind, double period, double step) : kind_(kind), period_(period), step_(step) {}

  Kind kind_;
  double period_;  // half-life or batch length, seconds
  double step_;    // exponent gained per batch (batches), 1 otherwise
};

}  // namespace pytheas
