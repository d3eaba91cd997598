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
// A plain value (40 bytes per arm); not thread-safe.

#include <algorithm>
#include <cstdint>

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

  double sum_squares = 0;           ///< scaled discounted sum of squared scores (as ArmStats::sum)
  float up = 0, down = 0;           ///< CUSUM statistics, in standard deviations
  float up_run = 0, down_run = 0;   ///< observations since each statistic was 0
  double up_sum = 0, down_sum = 0;  ///< their scores' sum (double: any finite score fits)

  /// Feeds one score as its standardized residual `z`; on an alarm resets
  /// both statistics.
  Alarm step(double z, double score, double threshold) {
    z = std::clamp(z, -kClip, kClip);
    const double next_up = std::max(0.0, up + z - kDrift);
    const double next_down = std::max(0.0, down - z - kDrift);
    extend(next_up, up_run, up_sum, score);
    extend(next_down, down_run, down_sum, score);
    up = static_cast<float>(next_up);
    down = static_cast<float>(next_down);
    Alarm alarm;
    if (next_up > threshold) alarm = {+1, up_sum / up_run, up_run};
    if (next_down > threshold && next_down > next_up) alarm = {-1, down_sum / down_run, down_run};
    if (alarm.direction != 0) reset();
    return alarm;
  }

  void reset() {
    up = down = up_run = down_run = 0;
    up_sum = down_sum = 0;
  }

 private:
  static void extend(double statistic, float& run, double& sum, double score) {
    if (statistic > 0) {
      run += 1;
      sum += score;
    } else {
      run = sum = 0;
    }
  }
};

}  // namespace pytheas
