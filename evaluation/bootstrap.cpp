#include "evaluation/bootstrap.hpp"

#include <algorithm>
#include <cmath>

#include "core/rng.hpp"

namespace pytheas::evaluation {

std::vector<Row3> column_sums(std::span<const Row3> rows, const BootstrapOptions& options) {
  std::vector<Row3> sums(options.resamples, Row3{0, 0, 0});
  if (rows.empty()) return sums;
  Rng rng(options.seed);
  const std::size_t n = rows.size();
  for (auto& sum : sums) {
    for (std::size_t i = 0; i < n; ++i) {
      const Row3& row = rows[static_cast<std::size_t>(rng.below(n))];
      sum[0] += row[0];
      sum[1] += row[1];
      sum[2] += row[2];
    }
  }
  return sums;
}

Interval percentile_interval(std::vector<double>& values, double confidence) {
  std::erase_if(values, [](double v) { return !std::isfinite(v); });
  if (values.empty()) return {NAN, NAN};
  auto at = [&](double p) {
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
    rank = std::clamp<std::size_t>(rank, 1, values.size()) - 1;
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                     values.end());
    return values[rank];
  };
  const double tail = (1 - confidence) / 2;
  const double low = at(tail);
  const double high = at(1 - tail);
  return {low, high};
}

Interval block_mean_interval(std::span<const double> values, std::size_t block,
                             const BootstrapOptions& options) {
  const std::size_t n = values.size();
  if (n == 0) return {NAN, NAN};
  block = std::clamp<std::size_t>(block, 1, n);
  const std::size_t blocks = (n + block - 1) / block;
  Rng rng(options.seed);
  std::vector<double> means(options.resamples);
  for (auto& mean : means) {
    double sum = 0;
    std::size_t count = 0;
    for (std::size_t b = 0; b < blocks; ++b) {
      const auto start = static_cast<std::size_t>(rng.below(n));
      for (std::size_t k = 0; k < block && count < n; ++k, ++count) sum += values[(start + k) % n];
    }
    mean = sum / static_cast<double>(n);
  }
  return percentile_interval(means, options.confidence);
}

}  // namespace pytheas::evaluation
