#pragma once
// Bootstrap confidence intervals (percentile method) for the estimators:
//   column_sums       resamples rows with replacement (iid bootstrap) and
//                     returns, per resample, the sum of each column, so one
//                     pass serves IPS (mean of w*r), SNIPS (ratio of sums)
//                     and DR (mean of its terms) alike;
//   block_mean_interval  a moving-block bootstrap of a mean, for sequences
//                     whose neighbours are dependent (the rewards a learning
//                     policy collects in the replay method).
// Deterministic for a given seed. Pure functions.

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace pytheas::evaluation {

struct BootstrapOptions {
  std::size_t resamples = 1000;
  double confidence = 0.95;
  std::uint64_t seed = 1;
};

struct Interval {
  double low = 0;
  double high = 0;
};

using Row3 = std::array<double, 3>;

/// Per resample, the column sums of `rows.size()` rows drawn with replacement.
std::vector<Row3> column_sums(std::span<const Row3> rows, const BootstrapOptions& options);

/// The central `confidence` interval of `values` (reordered), by nearest rank.
Interval percentile_interval(std::vector<double>& values, double confidence);

/// Moving-block bootstrap interval of the mean of `values`; blocks of
/// `block` consecutive values (>= 1), wrapping around the end.
Interval block_mean_interval(std::span<const double> values, std::size_t block,
                             const BootstrapOptions& options);

}  // namespace pytheas::evaluation
