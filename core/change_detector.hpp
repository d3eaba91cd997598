#pragma once
// ChangeDetector: finds an abrupt shift in one arm's score distribution, so a
// policy can forget what the shift made stale instead of waiting for its
// discount to wash it out (a CDN that fails, or recovers, moves its scores in
// seconds; a 60 s half-life takes minutes to follow).
//
// A two-sided CUSUM (Page 1954; the detector of CUSUM-UCB, Liu, Lee & Shroff
// 2018) on the arm's standardized, winsorized residuals
//   z = clamp((score - mean) / sigma, -kClip, kClip)
// against the arm's own discounted mean and standard deviation (the policy's
// statistics before this score):
//   up   = max(0, up   + z - kDrift)      down = max(0, down - z - kDrift)
// and an alarm when either exceeds `threshold`. kDrift = 0.5 tunes it to
// shifts of one standard deviation and more; clipping bounds what one outlier
// can add (kClip - kDrift = 3.5), so heavy-tailed scores need several extreme
// values in a row to raise an alarm. The false-alarm rate on stationary
// streams is measured by the tests (test/core/change_detector_test.cpp) and
// stated in docs/POLICIES.md.
//
// On an alarm the detector gives the new level: the mean of the scores of the
// run that raised it (those since its statistic last was 0), worth `run`
// observations.
//
// A plain value of 32 bytes per arm (ArmPolicy keeps one beside each arm's
// statistics, so a group pays it per arm): the statistics, the runs' lengths
// and their means are floats (a level needs no more than float's 7 digits,
// and a mean cannot overflow where a sum of large scores could); only the
// sum of squares, a discounted sum in ArmStats' scaled frame, needs a double.
// Not thread-safe.

#include <algorithm>
#include <cstdint>
#include <limits>

namespace pytheas {

struct ChangeDetector {
  static constexpr double kDrift = 0.5;
  static constexpr double kClip = 4;
  /// Effective observations an arm needs before its mean and deviation are
  /// trusted as the reference.
  static constexpr double kWarmup = 8;

  /// A detected shift: its direction (+1 better, -1 worse), the new level
  /// and the observations it is estimated from.
  struct Alarm {
    int direction = 0;  ///< 0: no alarm
    double level = 0;
    double run = 0;
  };

  double sum_squares = 0;            ///< scaled discounted sum of squared scores (as ArmStats::sum)
  float up = 0, down = 0;            ///< CUSUM statistics, in standard deviations
  float up_run = 0, down_run = 0;    ///< observations since each statistic was 0
  float up_mean = 0, down_mean = 0;  ///< their scores' mean

  /// Feeds one score as its standardized residual `z`; on an alarm resets
  /// both statistics.
  Alarm step(double z, double score, double threshold) {
    z = std::clamp(z, -kClip, kClip);
    const double next_up = std::max(0.0, up + z - kDrift);
    const double next_down = std::max(0.0, down - z - kDrift);
    extend(next_up, up_run, up_mean, score);
    extend(next_down, down_run, down_mean, score);
    up = static_cast<float>(next_up);
    down = static_cast<float>(next_down);
    Alarm alarm;
    if (next_up > threshold) alarm = {+1, up_mean, up_run};
    if (next_down > threshold && next_down > next_up) alarm = {-1, down_mean, down_run};
    if (alarm.direction != 0) reset();
    return alarm;
  }

  void reset() { up = down = up_run = down_run = up_mean = down_mean = 0; }

  /// `value` as a float, saturated: a finite score stays finite.
  static float saturate(double value) {
    constexpr double kMax = std::numeric_limits<float>::max();
    return static_cast<float>(std::clamp(value, -kMax, kMax));
  }

 private:
  static void extend(double statistic, float& run, float& mean, double score) {
    if (statistic > 0) {
      run += 1;
      mean = saturate(mean + (score - mean) / run);
    } else {
      run = mean = 0;
    }
  }
};

static_assert(sizeof(ChangeDetector) == 32, "a detector per arm: keep it small");

}  // namespace pytheas
