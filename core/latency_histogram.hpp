#pragma once
// LatencyHistogram: a lock-free histogram of durations with fixed log-spaced
// bucket bounds (from 10 us to 100 s, 8 buckets per decade, so a percentile
// read from it is within ~33% of the truth), for Prometheus
// exposition and for percentiles in benchmarks. Recording is one relaxed
// atomic increment; many threads may record and read concurrently.

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>

namespace pytheas {

class LatencyHistogram {
 public:
  static constexpr int kBuckets = 57;  ///< finite upper bounds; one more for +Inf

  /// Upper bound (seconds) of bucket i: 10 us * 10^(i/8).
  static double upper_bound(int i) { return 1e-5 * std::pow(10.0, i / 8.0); }

  void record(double seconds) {
    int i = 0;
    if (seconds > 1e-5) {
      i = static_cast<int>(std::ceil(8.0 * std::log10(seconds / 1e-5) - 1e-9));
      if (i > kBuckets) i = kBuckets;
      if (i < kBuckets && seconds > upper_bound(i)) ++i;  // guard rounding at a bound
    }
    counts_[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
    // Sum in nanoseconds keeps the add integral (atomic<double> has no fetch_add pre-C++20 libs).
    sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e9),
                      std::memory_order_relaxed);
  }

  /// Count in bucket i (i == kBuckets is the +Inf bucket).
  std::uint64_t bucket(int i) const {
    return counts_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
  }

  std::uint64_t count() const {
    std::uint64_t total = 0;
    for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
    return total;
  }

  double sum_seconds() const { return static_cast<double>(sum_ns_.load()) * 1e-9; }

  /// The upper bound of the bucket holding quantile q (0..1); 0 when empty.
  double quantile(double q) const {
    auto total = count();
    if (total == 0) return 0;
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (int i = 0; i <= kBuckets; ++i) {
      seen += bucket(i);
      if (seen >= rank && seen > 0) return i < kBuckets ? upper_bound(i) : INFINITY;
    }
    return INFINITY;
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace pytheas
